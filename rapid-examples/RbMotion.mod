MODULE RbMotion
    !
    ! rapidbridge example: the motion task's side (T_ROB1, with RbShared.sys).
    ! The link task T_RBLINK owns the connection; this module
    !   - runs the procedures a client asks for with CALL (late binding),
    !   - applies SPEED (SpeedRefresh) and STOP (StopMove, ClearPath and, by
    !     default, ExitCycle) in interrupts, so that they act in the middle
    !     of a movement,
    !   - counts rbAlive up while the program runs, which the link task
    !     reports as ST exec RUNNING (STOPPED when the count stands still),
    !   - publishes the tool and work object PS and CF report (RbSetTool,
    !     RbSetWobj).
    !
    ! Use the main below as it is, or call RbMotionInit at the start of your
    ! own main and RbMotionServe where your program waits for work. Run the
    ! task in continuous mode: a STOP ends the cycle (ExitCycle), and main
    ! starts again from the top.
    !
    ! A CALL runs only procedures of this task without parameters whose
    ! names begin with rbCallPrefix (RbCommand.mod, "Remote" by default),
    ! never main or the Rb... routines of these examples. Keep what clients
    ! may call in one module of procedures meant for it.
    !

    ! Requests (RbAsk): the error RbAsk raises when no reply comes, booked
    ! with BookErrNo on first use; RbAskCode and RbAskText then say why.
    VAR errnum ERR_RB_ASK := -1;
    ! s RbAsk waits by default: longer than the bridge's
    ! limits.robot_request_timeout (5 s), so its RX normally comes first.
    CONST num RB_ASK_TIME := 10;
    LOCAL VAR num rbAskLastCode := 0;
    LOCAL VAR string rbAskLastText := "";

    ! --- settings: TASK PERS, one value per motion task ---------------------
    ! What STOP does outside a CALL (inside one it always ends the CALL and
    ! the cycle): "CYCLE" stops the robot, clears the path and ends the
    ! cycle (ExitCycle: in continuous mode main starts again from the top,
    ! in single cycle the program stops); "PATH" only stops the robot and
    ! clears the path, and the program goes on with its next instruction.
    ! Any other value counts as "CYCLE".
    TASK PERS string rbStopMode := "CYCLE";

    CONST num RB_ALIVE_PERIOD := 0.2;   ! s between rbAlive counts (cyclic ITimer >= 0.1)

    LOCAL VAR intnum rbStopInt;
    LOCAL VAR intnum rbSpeedInt;
    LOCAL VAR intnum rbAliveInt;
    LOCAL VAR bool rbInCall := FALSE;
    LOCAL VAR num rbStopSeen := 0;      ! rbStopReq{rbLinkNo} already acted on
    LOCAL VAR num rbSpeedSeen := 0;     ! rbSpeedReq{rbLinkNo} already acted on

    PROC main()
        RbMotionInit;
        WHILE TRUE DO
            RbMotionServe;
        ENDWHILE
    ENDPROC

    ! Connect the interrupts; settle a CALL that a restart of main cut short.
    PROC RbMotionInit()
        WHILE NOT RbLinkNoOk() DO
            ErrWrite \W, "rapidbridge bad setting", "rbLinkNo must be 1.." + NumToStr(RB_LINKS_MAX, 0);
            Stop;
        ENDWHILE
        rbStopSeen := rbStopReq{rbLinkNo};
        rbSpeedSeen := rbSpeedReq{rbLinkNo};
        ! IDelete first: after ExitCycle or PP to main they may still exist.
        ! IPers watches the whole array: a STOP for another link also
        ! fires, and the trap looks at its own element.
        IDelete rbStopInt;
        CONNECT rbStopInt WITH RbStopTrap;
        IPers rbStopReq, rbStopInt;
        IDelete rbSpeedInt;
        CONNECT rbSpeedInt WITH RbSpeedTrap;
        IPers rbSpeedReq, rbSpeedInt;
        IDelete rbAliveInt;
        CONNECT rbAliveInt WITH RbAliveTrap;
        ITimer RB_ALIVE_PERIOD, rbAliveInt;
        rbInCall := FALSE;
        rbTaskSpeed{rbLinkNo} := CSpeedOverride(\CTask);
        ! A CALL taken and not finished: main was started again in the
        ! middle of it (PP to main, ExitCycle, a restart from main).
        IF rbCallTaken{rbLinkNo} <> rbCallDone{rbLinkNo} THEN
            rbCallCode{rbLinkNo} := RB_ERR_STOPPED;
            rbCallText{rbLinkNo} := "interrupted: motion task restarted";
            rbCallDone{rbLinkNo} := rbCallTaken{rbLinkNo};
        ENDIF
    ENDPROC

    ! Wait for a CALL, take it, run it, report how it ended. Only this task
    ! writes rbCallTaken and rbCallDone. Taking is: write rbCallTaken, then
    ! look at rbCallDrop; the link task withdraws in the opposite order
    ! (RbCallWithdraw), so a CALL runs only if it was not withdrawn.
    PROC RbMotionServe()
        VAR num id;
        VAR string procName;
        WaitUntil rbCallReq{rbLinkNo} <> rbCallTaken{rbLinkNo} AND rbCallReq{rbLinkNo} <> rbCallDrop{rbLinkNo};
        id := rbCallReq{rbLinkNo};
        procName := rbCallProc{rbLinkNo};
        rbCallTaken{rbLinkNo} := id;
        IF rbCallDrop{rbLinkNo} = id THEN
            ! withdrawn while we were taking it: never run it
            rbCallCode{rbLinkNo} := RB_ERR_NOMOTION;
            rbCallText{rbLinkNo} := "withdrawn: not taken in time";
            rbCallDone{rbLinkNo} := id;
            RETURN;
        ENDIF
        rbCallCode{rbLinkNo} := 0;
        rbCallText{rbLinkNo} := "";
        RbRunCall procName;
        ! rbCallCode and rbCallText first: the link task answers when it sees rbCallDone
        rbCallDone{rbLinkNo} := id;
    ENDPROC

    LOCAL PROC RbRunCall(string procName)
        rbInCall := TRUE;
        %procName%;
        rbInCall := FALSE;
    ERROR
        rbInCall := FALSE;
        SkipWarn;
        IF ERRNO = ERR_REFUNKPRC OR ERRNO = ERR_CALLPROC THEN
            ! no procedure of that name, or not one without parameters
            rbCallCode{rbLinkNo} := RB_ERR_PROC;
            rbCallText{rbLinkNo} := "unknown procedure " + procName;
        ELSE
            ! an error the procedure did not handle itself
            rbCallCode{rbLinkNo} := RB_ERR_FAILED;
            rbCallText{rbLinkNo} := "error " + NumToStr(ERRNO, 0) + " in " + procName;
        ENDIF
        RETURN;
    ENDPROC

    ! Report positions in this tool / work object from now on (PS, CF).
    ! name is the name of a tooldata / wobjdata of this task.
    PROC RbSetTool(string name)
        VAR tooldata t;
        GetDataVal name, t;
        rbTool{rbLinkNo} := t;
        rbToolName{rbLinkNo} := name;
    ERROR
        RAISE;
    ENDPROC

    PROC RbSetWobj(string name)
        VAR wobjdata w;
        GetDataVal name, w;
        rbWobj{rbLinkNo} := w;
        rbWobjName{rbLinkNo} := name;
    ERROR
        RAISE;
    ENDPROC

    ! Ask the cell through the bridge and wait for the answer: sends the
    ! request frame reqType with fields (comma-separated, "" for none) over
    ! this robot's link, and returns the fields of the reply frame replyType
    ! (comma-separated, after its seq; read them with RbAskField). Waits at
    ! most Time seconds (default RB_ASK_TIME). When no reply comes (the
    ! bridge answered RX, the time is up, the link was lost, the request
    ! does not fit one frame) it raises ERR_RB_ASK; RbAskCode() and
    ! RbAskText() then say why (RX codes 1..5 of PROTOCOL.md 5.9, or
    ! RB_ASK_TIMEOUT, RB_ASK_LINK, RB_ASK_TOOLONG of RbShared.sys).
    ! Example: job := RbAsk("JB", "1", "JA");  (README.md, "Asking the cell")
    FUNC string RbAsk(string reqType, string fields, string replyType, \num Time)
        VAR num id;
        VAR num limit;
        VAR bool late := FALSE;
        IF ERR_RB_ASK = -1 BookErrNo ERR_RB_ASK;
        limit := RB_ASK_TIME;
        IF Present(Time) limit := Time;
        id := RbNextId(rbAskReq{rbLinkNo});
        rbAskType{rbLinkNo} := reqType;
        rbAskFields{rbLinkNo} := fields;
        rbAskReply{rbLinkNo} := replyType;
        ! the request is published last: the link task sends it when it sees the new id
        rbAskReq{rbLinkNo} := id;
        WaitUntil rbAskDone{rbLinkNo} = id \MaxTime:=limit \TimeFlag:=late;
        IF late THEN
            rbAskLastCode := RB_ASK_TIMEOUT;
            rbAskLastText := "no answer within " + NumToStr(limit, 1) + " s";
            RAISE ERR_RB_ASK;
        ENDIF
        IF rbAskResult{rbLinkNo} <> 0 THEN
            rbAskLastCode := rbAskResult{rbLinkNo};
            rbAskLastText := rbAskAnswer{rbLinkNo};
            RAISE ERR_RB_ASK;
        ENDIF
        rbAskLastCode := 0;
        rbAskLastText := "";
        RETURN rbAskAnswer{rbLinkNo};
    ENDFUNC

    ! Why the last RbAsk raised ERR_RB_ASK: the code and the text.
    FUNC num RbAskCode()
        RETURN rbAskLastCode;
    ENDFUNC

    FUNC string RbAskText()
        RETURN rbAskLastText;
    ENDFUNC

    ! Field n (1, 2, ...) of the comma-separated fields RbAsk returned, ""
    ! when there are fewer.
    FUNC string RbAskField(string fields, num n)
        VAR num start := 1;
        VAR num comma;
        FOR k FROM 2 TO n DO
            comma := StrFind(fields, start, ",");
            IF comma > StrLen(fields) RETURN "";
            start := comma + 1;
        ENDFOR
        IF start > StrLen(fields) RETURN "";
        comma := StrFind(fields, start, ",");
        RETURN StrPart(fields, start, comma - start);
    ENDFUNC

    ! STOP: stop the robot, throw away the planned path, end a CALL, and
    ! (rbStopMode "CYCLE") end the cycle.
    LOCAL TRAP RbStopTrap
        IF rbStopReq{rbLinkNo} = rbStopSeen RETURN;
        rbStopSeen := rbStopReq{rbLinkNo};
        IF NOT IsStopMoveAct(\FromMoveTask) StopMove;
        ClearPath;
        StartMove;
        IF rbInCall THEN
            rbInCall := FALSE;
            rbCallCode{rbLinkNo} := RB_ERR_STOPPED;
            rbCallText{rbLinkNo} := "interrupted by STOP";
            rbCallDone{rbLinkNo} := rbCallTaken{rbLinkNo};
            ExitCycle;
        ENDIF
        IF StrMap(rbStopMode, STR_LOWER, STR_UPPER) <> "PATH" ExitCycle;
    ENDTRAP

    ! SPEED: the new override acts on the movement under way.
    LOCAL TRAP RbSpeedTrap
        IF rbSpeedReq{rbLinkNo} = rbSpeedSeen RETURN;
        rbSpeedSeen := rbSpeedReq{rbLinkNo};
        SpeedRefresh rbSpeedPct{rbLinkNo};
        rbTaskSpeed{rbLinkNo} := CSpeedOverride(\CTask);
    ENDTRAP

    ! Runs while the program runs, also in the middle of a movement.
    LOCAL TRAP RbAliveTrap
        VAR num speed;
        rbAlive{rbLinkNo} := RbNextId(rbAlive{rbLinkNo});
        speed := CSpeedOverride(\CTask);
        IF speed <> rbTaskSpeed{rbLinkNo} rbTaskSpeed{rbLinkNo} := speed;
    ENDTRAP
ENDMODULE
