MODULE RbStatus
    !
    ! rapidbridge example: main of the link task T_RBLINK, a semistatic
    ! background task (RobotWare option 623-1 Multitasking). It keeps one
    ! link to the bridge (RbLink.sys), streams the state of the motion task's
    ! robot, and answers the bridge's commands (RbCommand.mod) in between.
    !
    ! Each cycle samples the robot and sends JT, EJ, PS, CF, ST and the IO of
    ! rbIoNames, each only when its text differs from the one sent last;
    ! after a reconnect everything is sent again. When nothing was sent for
    ! rbHbTime seconds it sends HB, so the bridge's idle timeout (3 s by
    ! default) never fires on a quiet robot. Between samples it waits for
    ! commands, so a command waits at most rbPeriod.
    !
    ! Frame lengths: every number goes through RbNum, which clamps it, so the
    ! longest text of each frame is known (the rb-frame comments below):
    !   joints      +-9999.99 deg          2 decimals
    !   ext. axes   +-99999.99 deg or mm   2 decimals, 9E+09 = no axis
    !   position    +-99999.9 mm           1 decimal
    !   quaternion  +-1.000000             6 decimals
    !   robconf     +-99                   whole numbers
    !   IO values   +-99999.000            3 decimals (analog), else whole
    !

    ! --- settings: TASK PERS, one value per link task -----------------------
    TASK PERS string rbMotionTask := "T_ROB1";      ! the task whose robot is reported
    TASK PERS num rbPeriod := 0.1;                   ! s between samples
    TASK PERS num rbHbTime := 1;                     ! s without a frame before HB
    TASK PERS string rbSigMotors := "doMotorsOn";    ! a DO set up as system output "Motors On"
    ! Signals reported as IO frames when they change (any of DI, DO, AI, AO,
    ! GI, GO; "" = unused). Group signals up to 23 bits.
    CONST num RB_IO_COUNT := 8;
    TASK PERS string rbIoNames{RB_IO_COUNT} := ["","","","","","","",""];

    CONST num RB_DEG_MAX := 9999.99;
    CONST num RB_EXT_MAX := 99999.99;
    CONST num RB_MM_MAX := 99999.9;
    CONST num RB_CONF_MAX := 99;
    CONST num RB_IO_MAX := 99999;
    CONST num RB_ALIVE_TIMEOUT := 1;     ! s without a tick from RbMotion = not running
    CONST num RB_ERROR_WAIT := 1;        ! s before connecting again after an unexpected error
    CONST num RB_IO_DI := 1;
    CONST num RB_IO_DO := 2;
    CONST num RB_IO_AI := 3;
    CONST num RB_IO_AO := 4;
    CONST num RB_IO_GI := 5;
    CONST num RB_IO_GO := 6;

    LOCAL VAR string rbLastJT := "";
    LOCAL VAR string rbLastEJ := "";
    LOCAL VAR string rbLastPS := "";
    LOCAL VAR string rbLastConf := "";
    LOCAL VAR string rbLastNames := "";
    LOCAL VAR string rbLastST := "";
    LOCAL VAR string rbLastIO{RB_IO_COUNT};
    LOCAL VAR num rbIoKindOf{RB_IO_COUNT};
    LOCAL VAR bool rbMotorsWarned := FALSE;
    LOCAL VAR num rbAliveSeen := 0;
    LOCAL VAR bool rbAliveEver := FALSE;
    LOCAL VAR clock rbAliveClock;

    ! The link task never ends: every error ends up in RbServe's handler or,
    ! should one escape it, in this one, and the task connects again. A
    ! semistatic task that stopped would stay stopped until the next restart.
    PROC main()
        rbAliveEver := FALSE;
        RbCallStart;
        RbAskStart;
        WHILE TRUE DO
            RbConnect;
            RbServe;
        ENDWHILE
    ERROR
        SkipWarn;
        RbClose;
        WaitTime RB_ERROR_WAIT;
        ResetRetryCount;
        RETRY;
    ENDPROC

    ! Stream and answer commands until the link is lost: the bridge closed
    ! it (restart, idle timeout, a new link under our name), the network is
    ! gone, or any other error (a string too long, a signal that vanished):
    ! whatever its number, close, and main connects again.
    LOCAL PROC RbServe()
        IF NOT rbAliveEver rbAliveSeen := rbAlive{rbLinkNo};
        RbStatusReset;
        RbCallLinkUp;
        RbAskLinkUp;
        WHILE TRUE DO
            RbStatusSend;
            RbCallPoll;
            RbAskPoll;
            RbPoll rbPeriod;
        ENDWHILE
    ERROR
        SkipWarn;
        ErrWrite \W, "rapidbridge link lost", "Error " + NumToStr(ERRNO, 0) + ", connecting again";
        RbClose;
        ! a socket error is the bridge going away; anything else may repeat
        ! at once, so do not reconnect in a tight loop
        IF ERRNO <> ERR_SOCK_CLOSED AND ERRNO <> ERR_SOCK_TIMEOUT WaitTime RB_ERROR_WAIT;
        RETURN;
    ENDPROC

    ! After HI: forget what was sent, so that the bridge gets the full state.
    PROC RbStatusReset()
        rbLastJT := "";
        rbLastEJ := "";
        rbLastPS := "";
        rbLastConf := "";
        rbLastNames := "";
        rbLastST := "";
        rbMotorsWarned := FALSE;
        FOR i FROM 1 TO RB_IO_COUNT DO
            rbLastIO{i} := "";
            rbIoKindOf{i} := 0;
            IF rbIoNames{i} <> "" THEN
                rbIoKindOf{i} := RbIoKind(rbIoNames{i});
                IF rbIoKindOf{i} = 0 RbEvent "W", RB_ERR_SIGNAL, "rbIoNames: unknown signal " + RbText(rbIoNames{i}, 32);
            ENDIF
        ENDFOR
    ENDPROC

    ! Send every frame whose text changed, and HB when all was quiet.
    PROC RbStatusSend()
        VAR jointtarget j;
        VAR robtarget p;
        VAR string s;
        VAR string names;
        VAR num value;

        j := CJointT(\TaskName:=rbMotionTask);
        s := RbNum(j.robax.rax_1, 2, RB_DEG_MAX) + "," + RbNum(j.robax.rax_2, 2, RB_DEG_MAX) + ","
            + RbNum(j.robax.rax_3, 2, RB_DEG_MAX) + "," + RbNum(j.robax.rax_4, 2, RB_DEG_MAX) + ","
            + RbNum(j.robax.rax_5, 2, RB_DEG_MAX) + "," + RbNum(j.robax.rax_6, 2, RB_DEG_MAX);
        IF s <> rbLastJT THEN
            ! rb-frame send JT worst="JT,99999,-9999.99,-9999.99,-9999.99,-9999.99,-9999.99,-9999.99"
            RbSend "JT," + RbSeqNext() + "," + s;
            rbLastJT := s;
        ENDIF

        IF RbExtPresent(j.extax) THEN
            s := RbExt(j.extax.eax_a) + "," + RbExt(j.extax.eax_b) + "," + RbExt(j.extax.eax_c) + ","
                + RbExt(j.extax.eax_d) + "," + RbExt(j.extax.eax_e) + "," + RbExt(j.extax.eax_f);
            IF s <> rbLastEJ THEN
                ! rb-frame send EJ worst="EJ,99999,-99999.99,-99999.99,-99999.99,-99999.99,-99999.99,-99999.99"
                RbSend "EJ," + RbSeqNext() + "," + s;
                rbLastEJ := s;
            ENDIF
        ENDIF

        p := CRobT(\TaskName:=rbMotionTask \Tool:=rbTool{rbLinkNo} \WObj:=rbWobj{rbLinkNo});
        s := RbNum(p.trans.x, 1, RB_MM_MAX) + "," + RbNum(p.trans.y, 1, RB_MM_MAX) + ","
            + RbNum(p.trans.z, 1, RB_MM_MAX) + "," + RbNum(p.rot.q1, 6, 1) + ","
            + RbNum(p.rot.q2, 6, 1) + "," + RbNum(p.rot.q3, 6, 1) + "," + RbNum(p.rot.q4, 6, 1);
        IF s <> rbLastPS THEN
            ! rb-frame send PS worst="PS,99999,-99999.9,-99999.9,-99999.9,-1.000000,-1.000000,-1.000000,-1.000000"
            RbSend "PS," + RbSeqNext() + "," + s;
            rbLastPS := s;
        ENDIF

        ! CF: two 32-character names do not fit one string with the rest,
        ! so the frame goes out in two pieces. The names are cut to 32: a
        ! longer one (set by hand) would not fit one string.
        s := RbNum(p.robconf.cf1, 0, RB_CONF_MAX) + "," + RbNum(p.robconf.cf4, 0, RB_CONF_MAX) + ","
            + RbNum(p.robconf.cf6, 0, RB_CONF_MAX) + "," + RbNum(p.robconf.cfx, 0, RB_CONF_MAX);
        names := RbText(rbToolName{rbLinkNo}, 32) + "," + RbText(rbWobjName{rbLinkNo}, 32);
        IF s <> rbLastConf OR names <> rbLastNames THEN
            ! rb-frame send CF worst="CF,99999,-99,-99,-99,-99,|abcdefghij0123456789ABCDEFGHIJ_z,abcdefghij0123456789ABCDEFGHIJ_z"
            RbSendPart "CF," + RbSeqNext() + "," + s + ",";
            RbSend names;
            rbLastConf := s;
            rbLastNames := names;
        ENDIF

        s := RbExecState() + "," + RbModeName() + "," + RbMotors() + "," + NumToStr(RbSpeed(), 0);
        IF s <> rbLastST THEN
            ! rb-frame send ST worst="ST,99999,RUNNING,UNDEF,OFF,100"
            RbSend "ST," + RbSeqNext() + "," + s;
            rbLastST := s;
        ENDIF

        FOR i FROM 1 TO RB_IO_COUNT DO
            IF rbIoKindOf{i} > 0 THEN
                IF RbIoRead(rbIoNames{i}, rbIoKindOf{i}, value) THEN
                    IF rbIoKindOf{i} = RB_IO_AI OR rbIoKindOf{i} = RB_IO_AO THEN
                        s := RbNum(value, 3, RB_IO_MAX);
                    ELSE
                        s := RbNum(value, 0, 8388608);
                    ENDIF
                    IF s <> rbLastIO{i} THEN
                        ! rb-frame send IO worst="IO,99999,abcdefghij0123456789ABCDEFGHIJ_z,-99999.000"
                        RbSend "IO," + RbSeqNext() + "," + RbText(rbIoNames{i}, 32) + "," + s;
                        rbLastIO{i} := s;
                    ENDIF
                ENDIF
            ENDIF
        ENDFOR

        IF RbIdleTime() >= rbHbTime THEN
            ! rb-frame send HB worst="HB,99999"
            RbSend "HB," + RbSeqNext();
        ENDIF
    ENDPROC

    ! Is the motion task running RbMotion? Its RbAliveTrap counts rbAlive up
    ! five times a second while the program runs, and not at all when it is
    ! stopped.
    FUNC bool RbMotionAlive()
        IF rbAlive{rbLinkNo} <> rbAliveSeen THEN
            rbAliveSeen := rbAlive{rbLinkNo};
            rbAliveEver := TRUE;
            ClkReset rbAliveClock;
            ClkStart rbAliveClock;
        ENDIF
        ! a stopped clock keeps its value and can never overflow
        IF ClkRead(rbAliveClock) > RB_ALIVE_TIMEOUT ClkStop rbAliveClock;
        RETURN rbAliveEver AND ClkRead(rbAliveClock) <= RB_ALIVE_TIMEOUT;
    ENDFUNC

    LOCAL FUNC string RbExecState()
        IF RbMotionAlive() RETURN "RUNNING";
        RETURN "STOPPED";
    ENDFUNC

    LOCAL FUNC string RbModeName()
        TEST OpMode()
        CASE OP_AUTO:
            RETURN "AUTO";
        CASE OP_MAN_PROG:
            RETURN "MANR";
        CASE OP_MAN_TEST:
            RETURN "MANF";
        DEFAULT:
            RETURN "UNDEF";
        ENDTEST
    ENDFUNC

    ! Motors on, from the system output "Motors On" named by rbSigMotors.
    LOCAL FUNC string RbMotors()
        VAR signaldo sig;
        AliasIO rbSigMotors, sig;
        IF DOutput(sig) = 1 RETURN "ON";
        RETURN "OFF";
    ERROR
        SkipWarn;
        IF NOT rbMotorsWarned THEN
            rbMotorsWarned := TRUE;
            RbEvent "W", RB_ERR_SIGNAL, "rbSigMotors: no DO " + RbText(rbSigMotors, 32);
        ENDIF
        RETURN "OFF";
    ENDFUNC

    ! The speed override the motion task runs with: its own (SpeedRefresh or
    ! FlexPendant, whichever came last) while it runs, else the FlexPendant's.
    LOCAL FUNC num RbSpeed()
        VAR num v;
        IF RbMotionAlive() THEN
            v := rbTaskSpeed{rbLinkNo};
        ELSE
            v := CSpeedOverride();
        ENDIF
        IF v < 0 v := 0;
        IF v > 100 v := 100;
        RETURN Round(v);
    ENDFUNC

    LOCAL FUNC bool RbExtPresent(extjoint e)
        RETURN e.eax_a < 8E9 OR e.eax_b < 8E9 OR e.eax_c < 8E9 OR e.eax_d < 8E9
            OR e.eax_e < 8E9 OR e.eax_f < 8E9;
    ENDFUNC

    ! An external axis: 9E+09 when the axis is not present, as RAPID has it.
    LOCAL FUNC string RbExt(num value)
        IF value >= 8E9 RETURN "9E+09";
        RETURN RbNum(value, 2, RB_EXT_MAX);
    ENDFUNC

    ! Which kind of signal name is: RB_IO_DI .. RB_IO_GO, or 0 when there is
    ! no such signal. AliasIO fails with ERR_ALIASIO_TYPE on the wrong kind.
    LOCAL FUNC num RbIoKind(string name)
        VAR signaldi sdi;
        VAR signaldo sdo;
        VAR signalai sai;
        VAR signalao sao;
        VAR signalgi sgi;
        VAR signalgo sgo;
        VAR num kind := 0;
        VAR bool found := FALSE;
        WHILE NOT found AND kind < RB_IO_GO DO
            kind := kind + 1;
            found := TRUE;
            TEST kind
            CASE RB_IO_DI:
                AliasIO name, sdi;
            CASE RB_IO_DO:
                AliasIO name, sdo;
            CASE RB_IO_AI:
                AliasIO name, sai;
            CASE RB_IO_AO:
                AliasIO name, sao;
            CASE RB_IO_GI:
                AliasIO name, sgi;
            CASE RB_IO_GO:
                AliasIO name, sgo;
            ENDTEST
        ENDWHILE
        IF found RETURN kind;
        RETURN 0;
    ERROR
        SkipWarn;
        IF ERRNO = ERR_ALIASIO_TYPE OR ERRNO = ERR_ALIASIO_DEF THEN
            found := FALSE;
            ! no signal of that name at all: no need to try the other kinds
            IF ERRNO = ERR_ALIASIO_DEF kind := RB_IO_GO;
            TRYNEXT;
        ENDIF
        ! any other error: not a signal this task can read (never RAISE: the
        ! link task would stop)
        RETURN 0;
    ENDFUNC

    ! Read a signal of a known kind; FALSE when it cannot be read now (its
    ! I/O unit is down, say), and the IO frame is skipped this cycle.
    LOCAL FUNC bool RbIoRead(string name, num kind, INOUT num value)
        VAR signaldi sdi;
        VAR signaldo sdo;
        VAR signalai sai;
        VAR signalao sao;
        VAR signalgi sgi;
        VAR signalgo sgo;
        TEST kind
        CASE RB_IO_DI:
            AliasIO name, sdi;
            value := DInput(sdi);
        CASE RB_IO_DO:
            AliasIO name, sdo;
            value := DOutput(sdo);
        CASE RB_IO_AI:
            AliasIO name, sai;
            value := AInput(sai);
        CASE RB_IO_AO:
            AliasIO name, sao;
            value := AOutput(sao);
        CASE RB_IO_GI:
            AliasIO name, sgi;
            value := GInput(sgi);
        CASE RB_IO_GO:
            AliasIO name, sgo;
            value := GOutput(sgo);
        DEFAULT:
            RETURN FALSE;
        ENDTEST
        RETURN TRUE;
    ERROR
        SkipWarn;
        RETURN FALSE;
    ENDFUNC
ENDMODULE
