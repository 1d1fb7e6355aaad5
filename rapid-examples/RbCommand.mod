MODULE RbCommand
    !
    ! rapidbridge example: the commands the bridge sends, carried out in the
    ! link task T_RBLINK. RbPoll (RbLink.sys) hands over one line at a time:
    ! "TYPE,SEQ[,field...]" without LF and checksum, at most 79 characters.
    !
    ! Every command gets exactly one answer: AK,<our seq>,<SEQ>,OK or
    ! AK,<our seq>,<SEQ>,ERR,<code>,<text>, codes in RbShared.sys. PING,
    ! SETDO, SETREG, SPEED and STOP are answered at once. CALL is handed to
    ! the motion task (RbMotion.mod) and answered when the procedure has
    ! returned, so rapidbridge's ack_timeout must be longer than the longest
    ! procedure a client may call. SPEED and STOP act through interrupts in
    ! the motion task, even in the middle of a movement.
    !
    ! To add a command: a row in RB_CMD_TYPES and RB_CMD_FIELDS, a CASE in
    ! RbCommandLine, and the same type as an "out" frame in bridge.json.
    !

    ! The commands this module understands, and the number of fields each
    ! has after the seq. tests/unit/test_rapid_examples.c checks this table
    ! against the bridge's frame table.
    CONST string RB_CMD_TYPES{6} := ["PING","SETDO","SETREG","SPEED","CALL","STOP"];
    CONST num RB_CMD_FIELDS{6} := [0,2,2,1,1,0];

    ! --- settings: TASK PERS, one value per link task -----------------------
    ! SETDO may set only outputs whose names begin with this ("" = any).
    TASK PERS string rbDoPrefix := "";
    ! CALL may run only procedures whose names begin with this (case does
    ! not matter), and never main or a name that begins with "Rb". "" lets
    ! a client call any procedure without parameters, service routines
    ! included: keep a prefix.
    TASK PERS string rbCallPrefix := "Remote";
    ! s the motion task has to take a CALL; after that it is withdrawn, so
    ! that a robot whose program was stopped never starts it later.
    CONST num RB_CALL_TAKE_TIME := 2;

    LOCAL VAR num rbAskSeen := 0;        ! the last rbAskReq taken from the motion task
    LOCAL VAR bool rbAskOut := FALSE;    ! a request is sent and waits for its reply or RX
    LOCAL VAR string rbAskSeq := "";     ! its seq, as sent

    LOCAL VAR bool rbCallPending := FALSE;
    LOCAL VAR num rbCallSeq := 0;        ! the bridge's seq of the pending CALL
    LOCAL VAR clock rbCallClock;

    ! One command line from the bridge.
    PROC RbCommandLine(string line)
        VAR string cmd;
        VAR num seq;
        VAR num want := -1;
        cmd := RbField(line, 1);
        IF NOT RbInt(RbField(line, 2), 0, RB_SEQ_MAX, seq) THEN
            ! without a seq there is nothing to answer: tell the bridge's log
            RbEvent "W", RB_ERR_BAD, "no seq, dropped: " + RbText(line, 30);
            RETURN;
        ENDIF
        FOR i FROM 1 TO Dim(RB_CMD_TYPES, 1) DO
            IF RB_CMD_TYPES{i} = cmd want := RB_CMD_FIELDS{i};
        ENDFOR
        IF want < 0 THEN
            RbAckErr seq, RB_ERR_BAD, "unknown command " + RbText(cmd, 8);
            RETURN;
        ENDIF
        IF RbFieldCount(line) <> want + 2 THEN
            RbAckErr seq, RB_ERR_BAD, "bad command";
            RETURN;
        ENDIF
        TEST cmd
        CASE "PING":
            RbAckOk seq;
        CASE "SETDO":
            RbCmdSetDO seq, RbField(line, 3), RbField(line, 4);
        CASE "SETREG":
            RbCmdSetReg seq, RbField(line, 3), RbField(line, 4);
        CASE "SPEED":
            RbCmdSpeed seq, RbField(line, 3);
        CASE "CALL":
            RbCmdCall seq, RbField(line, 3);
        CASE "STOP":
            RbCmdStop seq;
        DEFAULT:
            RbAckErr seq, RB_ERR_BAD, "bad command";
        ENDTEST
    ENDPROC

    PROC RbAckOk(num seq)
        ! rb-frame send AK worst="AK,99999,99999,OK"
        RbSend "AK," + RbSeqNext() + "," + NumToStr(seq, 0) + ",OK";
    ENDPROC

    ! code is one of the RB_ERR_ codes (at most two digits).
    PROC RbAckErr(num seq, num code, string text)
        ! rb-frame send AK worst="AK,99999,99999,ERR,99,The quick brown fox jumps over the lazy dog. 01234"
        RbSend "AK," + RbSeqNext() + "," + NumToStr(seq, 0) + ",ERR," + NumToStr(code, 0) + "," + RbText(text, RB_TEXT_MAX);
    ENDPROC

    ! SETDO,<seq>,<name>,<0|1>
    LOCAL PROC RbCmdSetDO(num seq, string name, string value)
        VAR signaldo sig;
        VAR num v;
        VAR bool acting := FALSE;
        IF NOT RbInt(value, 0, 1, v) OR StrLen(name) > 32 THEN
            RbAckErr seq, RB_ERR_BAD, "bad command";
            RETURN;
        ENDIF
        IF NOT RbHasPrefix(name, rbDoPrefix) THEN
            RbAckErr seq, RB_ERR_DENIED, "not allowed: " + name;
            RETURN;
        ENDIF
        acting := TRUE;
        AliasIO name, sig;
        IF v = 1 THEN
            SetDO sig, 1;
        ELSE
            SetDO sig, 0;
        ENDIF
        acting := FALSE;
        RbAckOk seq;
    ERROR
        ! an error while sending an AK is the link's: RbServe handles it
        IF NOT acting RAISE;
        SkipWarn;
        IF ERRNO = ERR_ALIASIO_DEF THEN
            RbAckErr seq, RB_ERR_SIGNAL, "unknown signal " + name;
        ELSEIF ERRNO = ERR_ALIASIO_TYPE THEN
            RbAckErr seq, RB_ERR_SIGNAL, "not an output: " + name;
        ELSE
            RbAckErr seq, RB_ERR_FAILED, "error " + NumToStr(ERRNO, 0) + " setting " + name;
        ENDIF
        RETURN;
    ENDPROC

    ! SETREG,<seq>,<index 1..100>,<value>: rbReg{index} := value
    LOCAL PROC RbCmdSetReg(num seq, string index, string value)
        VAR num n;
        VAR num v;
        IF NOT RbInt(index, 1, RB_REG_COUNT, n) THEN
            RbAckErr seq, RB_ERR_BAD, "bad command";
            RETURN;
        ENDIF
        IF NOT StrToVal(value, v) THEN
            RbAckErr seq, RB_ERR_BAD, "bad command";
            RETURN;
        ENDIF
        rbReg{rbLinkNo,n} := v;
        RbAckOk seq;
    ENDPROC

    ! SPEED,<seq>,<percent 1..100>: SpeedRefresh in the motion task
    LOCAL PROC RbCmdSpeed(num seq, string percent)
        VAR num p;
        IF NOT RbInt(percent, 1, 100, p) THEN
            RbAckErr seq, RB_ERR_BAD, "bad command";
            RETURN;
        ENDIF
        IF NOT RbMotionAlive() THEN
            RbAckErr seq, RB_ERR_NOMOTION, "motion task not running";
            RETURN;
        ENDIF
        rbSpeedPct{rbLinkNo} := p;
        ! the new counter value fires RbSpeedTrap in the motion task
        rbSpeedReq{rbLinkNo} := RbNextId(rbSpeedReq{rbLinkNo});
        RbAckOk seq;
    ENDPROC

    ! STOP,<seq>: stop the movement, end a running CALL, and (rbStopMode
    ! of RbMotion.mod, "CYCLE" by default) end the motion task's cycle
    ! (RbStopTrap). Answered OK at once; a stopped motion task has nothing
    ! to stop.
    LOCAL PROC RbCmdStop(num seq)
        rbStopReq{rbLinkNo} := RbNextId(rbStopReq{rbLinkNo});
        RbAckOk seq;
    ENDPROC

    ! CALL,<seq>,<procedure>: hand it to the motion task; RbCallPoll answers.
    ! The request is published last (rbCallReq), when the name is in place.
    LOCAL PROC RbCmdCall(num seq, string procName)
        IF StrLen(procName) = 0 OR StrLen(procName) > 32 THEN
            RbAckErr seq, RB_ERR_BAD, "bad command";
            RETURN;
        ENDIF
        IF NOT RbProcAllowed(procName) THEN
            RbAckErr seq, RB_ERR_DENIED, "not callable: " + procName;
            RETURN;
        ENDIF
        IF rbCallPending OR RbCallBusy() THEN
            RbAckErr seq, RB_ERR_BUSY, "busy: CALL " + RbText(rbCallProc{rbLinkNo}, 32) + " running";
            RETURN;
        ENDIF
        IF NOT RbMotionAlive() THEN
            RbAckErr seq, RB_ERR_NOMOTION, "motion task not running";
            RETURN;
        ENDIF
        rbCallProc{rbLinkNo} := procName;
        rbCallReq{rbLinkNo} := RbNextId(rbCallReq{rbLinkNo});
        rbCallPending := TRUE;
        rbCallSeq := seq;
        ClkReset rbCallClock;
        ClkStart rbCallClock;
    ENDPROC

    ! The motion task has a CALL it took and has not finished, or one is
    ! waiting that was neither taken nor withdrawn.
    LOCAL FUNC bool RbCallBusy()
        VAR num n;
        n := rbLinkNo;
        IF rbCallTaken{n} <> rbCallDone{n} RETURN TRUE;
        RETURN rbCallReq{n} <> rbCallTaken{n} AND rbCallReq{n} <> rbCallDrop{n};
    ENDFUNC

    ! Withdraw a request the motion task has not taken. Write first, then
    ! look: TRUE when it can no longer be taken; FALSE when the motion task
    ! took it first (it runs, and sets rbCallDone when it ends).
    LOCAL FUNC bool RbCallWithdraw()
        VAR num n;
        n := rbLinkNo;
        IF rbCallReq{n} = rbCallTaken{n} RETURN FALSE;
        rbCallDrop{n} := rbCallReq{n};
        RETURN rbCallTaken{n} <> rbCallReq{n};
    ENDFUNC

    ! At the start of the link task (restart, PP to main): a request it had
    ! handed over before is withdrawn, since nobody waits for its answer any
    ! more. One the motion task has taken runs to its end.
    PROC RbCallStart()
        rbCallPending := FALSE;
        IF NOT RbLinkNoOk() RETURN;
        IF rbCallReq{rbLinkNo} = rbCallTaken{rbLinkNo} OR rbCallReq{rbLinkNo} = rbCallDrop{rbLinkNo} RETURN;
        IF RbCallWithdraw() ErrWrite \I, "rapidbridge CALL withdrawn", "CALL " + RbText(rbCallProc{rbLinkNo}, 32) + " dropped: link task restarted";
    ENDPROC

    ! A new link: the bridge has already failed a command that was in
    ! flight on the old one, so its CALL is withdrawn if it was not taken,
    ! and no AK is sent for it on the new link.
    PROC RbCallLinkUp()
        VAR bool withdrawn;
        IF NOT rbCallPending RETURN;
        rbCallPending := FALSE;
        ! one the motion task took already runs to its end, unanswered
        withdrawn := RbCallWithdraw();
    ENDPROC

    ! Called every cycle: answer the pending CALL once the motion task is
    ! done with it, or withdraw it when the motion task did not take it.
    PROC RbCallPoll()
        VAR num n;
        IF NOT rbCallPending RETURN;
        n := rbLinkNo;
        IF rbCallDone{n} = rbCallReq{n} THEN
            rbCallPending := FALSE;
            IF rbCallCode{n} = 0 THEN
                RbAckOk rbCallSeq;
            ELSE
                RbAckErr rbCallSeq, rbCallCode{n}, rbCallText{n};
            ENDIF
        ELSEIF rbCallTaken{n} <> rbCallReq{n} AND ClkRead(rbCallClock) > RB_CALL_TAKE_TIME THEN
            IF RbCallWithdraw() THEN
                rbCallPending := FALSE;
                RbAckErr rbCallSeq, RB_ERR_NOMOTION, "motion task did not take the CALL";
            ENDIF
            ! else taken just now: it runs, and is answered when done
        ENDIF
    ENDPROC

    ! --- requests from the motion task (RbAsk, RbMotion.mod) ---------------
    ! One at a time per link: the motion task waits for each answer. The
    ! request goes out as TYPE,seq,FIELDS; the bridge answers with the reply
    ! type and the same seq (RbAskReplyLine), or RX,seq,CODE,TEXT (RbAskRx).

    ! Answer the motion task: code and text first, rbAskDone last.
    LOCAL PROC RbAskAnswer(num code, string text)
        rbAskOut := FALSE;
        rbAskResult{rbLinkNo} := code;
        rbAskAnswer{rbLinkNo} := text;
        rbAskDone{rbLinkNo} := rbAskSeen;
    ENDPROC

    ! main of the link task starts: a request the motion task still waits
    ! for was lost with the old link task; say so at once.
    PROC RbAskStart()
        rbAskOut := FALSE;
        IF NOT RbLinkNoOk() RETURN;
        rbAskSeen := rbAskReq{rbLinkNo};
        IF rbAskDone{rbLinkNo} <> rbAskSeen RbAskAnswer RB_ASK_LINK, "link task restarted";
    ENDPROC

    ! A new link: a request sent on the old one gets no answer any more.
    PROC RbAskLinkUp()
        IF rbAskOut RbAskAnswer RB_ASK_LINK, "link lost";
    ENDPROC

    ! Called every cycle: send a new request of the motion task.
    PROC RbAskPoll()
        VAR string frame;
        VAR num n;
        n := rbLinkNo;
        IF rbAskReq{n} = rbAskSeen RETURN;
        rbAskSeen := rbAskReq{n};
        ! type, "," seq of up to 5, "," fields: at most 76 with room for *HH
        IF StrLen(rbAskType{n}) + StrLen(rbAskFields{n}) > 76 - 7 THEN
            RbAskAnswer RB_ASK_TOOLONG, "request too long for one frame";
            RETURN;
        ENDIF
        rbAskSeq := RbSeqNext();
        frame := rbAskType{n} + "," + rbAskSeq;
        IF rbAskFields{n} <> "" frame := frame + "," + rbAskFields{n};
        rbAskOut := TRUE;
        ! rb-frame request worst="JB,99999,9"
        RbSend frame;
    ENDPROC

    ! Is line the reply to the request out (its reply type and seq)? Then
    ! hand its fields to the motion task.
    FUNC bool RbAskReplyLine(string line)
        VAR string head;
        IF NOT rbAskOut RETURN FALSE;
        head := rbAskReply{rbLinkNo} + "," + rbAskSeq;
        IF line = head THEN
            RbAskAnswer 0, "";
            RETURN TRUE;
        ENDIF
        IF RbLeft(line, StrLen(head) + 1) <> head + "," RETURN FALSE;
        RbAskAnswer 0, StrPart(line, StrLen(head) + 2, StrLen(line) - StrLen(head) - 1);
        RETURN TRUE;
    ENDFUNC

    ! RX,seq,CODE,TEXT: the bridge answers the request itself (nobody
    ! serves it, no reply in time, an error or invalid reply; PROTOCOL.md 5.9).
    PROC RbAskRx(string line)
        VAR num code;
        IF NOT rbAskOut RETURN;
        IF RbField(line, 2) <> rbAskSeq RETURN;
        IF NOT RbInt(RbField(line, 3), 1, 99, code) code := RB_ERR_BAD;
        RbAskAnswer code, RbAfterField(line, 3);
    ENDPROC

    ! Everything after field n of a line ("" when there is nothing).
    LOCAL FUNC string RbAfterField(string line, num n)
        VAR num start := 1;
        VAR num comma;
        FOR k FROM 1 TO n DO
            comma := StrFind(line, start, ",");
            IF comma >= StrLen(line) RETURN "";
            start := comma + 1;
        ENDFOR
        RETURN StrPart(line, start, StrLen(line) - start + 1);
    ENDFUNC

    ! Only names with rbCallPrefix; never main or this example's own
    ! routines, whatever the prefix.
    LOCAL FUNC bool RbProcAllowed(string procName)
        VAR string low;
        low := StrMap(procName, STR_UPPER, STR_LOWER);
        IF low = "main" OR RbHasPrefix(low, "rb") RETURN FALSE;
        RETURN RbHasPrefix(low, StrMap(rbCallPrefix, STR_UPPER, STR_LOWER));
    ENDFUNC

    ! --- parsing ----------------------------------------------------------------

    LOCAL FUNC bool RbHasPrefix(string s, string prefix)
        IF StrLen(prefix) = 0 RETURN TRUE;
        IF StrLen(s) < StrLen(prefix) RETURN FALSE;
        RETURN StrPart(s, 1, StrLen(prefix)) = prefix;
    ENDFUNC

    ! Field n of a line (1 = type, 2 = seq), "" when the line has fewer.
    FUNC string RbField(string line, num n)
        VAR num start := 1;
        VAR num comma;
        FOR k FROM 2 TO n DO
            IF start > StrLen(line) RETURN "";
            comma := StrFind(line, start, ",");
            IF comma > StrLen(line) RETURN "";
            start := comma + 1;
        ENDFOR
        IF start > StrLen(line) RETURN "";
        comma := StrFind(line, start, ",");
        RETURN RbLeft(StrPart(line, start, StrLen(line) - start + 1), comma - start);
    ENDFUNC

    ! Number of comma-separated fields, type and seq included.
    FUNC num RbFieldCount(string line)
        VAR num n := 1;
        VAR num pos := 1;
        WHILE pos <= StrLen(line) DO
            pos := StrFind(line, pos, ",");
            IF pos <= StrLen(line) n := n + 1;
            pos := pos + 1;
        ENDWHILE
        RETURN n;
    ENDFUNC

    ! A whole number in lo..hi.
    FUNC bool RbInt(string s, num lo, num hi, INOUT num value)
        IF NOT StrToVal(s, value) RETURN FALSE;
        RETURN value = Round(value) AND value >= lo AND value <= hi;
    ENDFUNC
ENDMODULE
