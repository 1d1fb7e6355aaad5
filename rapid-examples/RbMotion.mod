MODULE RbMotion
    !
    ! rapidbridge example: the motion task's side (T_ROB1, with RbShared.sys).
    ! The link task T_RBLINK owns the connection; this module
    !   - runs the procedures a client asks for with CALL (late binding),
    !   - applies SPEED (SpeedRefresh) and STOP (StopMove, ClearPath) in
    !     interrupts, so that they act in the middle of a movement,
    !   - counts rbAlive up while the program runs, which the link task
    !     reports as ST exec RUNNING (STOPPED when the count stands still),
    !   - publishes the tool and work object PS and CF report (RbSetTool,
    !     RbSetWobj).
    !
    ! Use the main below as it is, or call RbMotionInit at the start of your
    ! own main and RbMotionServe where your program waits for work. Run the
    ! task in continuous mode: a STOP during a CALL ends the cycle
    ! (ExitCycle), and main starts again from the top.
    !
    ! A CALL may run any procedure of this task without parameters, except
    ! main and the Rb... routines of these examples. Keep what clients may
    ! call in one module of procedures meant for it.
    !

    CONST num RB_ALIVE_PERIOD := 0.2;   ! s between rbAlive counts (cyclic ITimer >= 0.1)

    LOCAL VAR intnum rbStopInt;
    LOCAL VAR intnum rbSpeedInt;
    LOCAL VAR intnum rbAliveInt;
    LOCAL VAR bool rbInCall := FALSE;

    PROC main()
        RbMotionInit;
        WHILE TRUE DO
            RbMotionServe;
        ENDWHILE
    ENDPROC

    ! Connect the interrupts; settle a CALL that a restart cut short.
    PROC RbMotionInit()
        ! IDelete first: after ExitCycle or PP to main they may still exist
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
        rbTaskSpeed := CSpeedOverride(\CTask);
        WaitTestAndSet rbCallLock;
        IF rbCallTaken = rbCallReq AND rbCallDone <> rbCallReq THEN
            rbCallCode := RB_ERR_STOPPED;
            rbCallText := "interrupted: motion task restarted";
            rbCallDone := rbCallReq;
        ENDIF
        rbCallLock := FALSE;
    ENDPROC

    ! Wait for a CALL, run it, report how it ended.
    PROC RbMotionServe()
        VAR string procName;
        WaitUntil rbCallReq <> rbCallTaken AND rbCallReq <> rbCallDone;
        WaitTestAndSet rbCallLock;
        IF rbCallReq = rbCallTaken OR rbCallReq = rbCallDone THEN
            ! withdrawn by the link task in the meantime
            rbCallLock := FALSE;
            RETURN;
        ENDIF
        rbCallTaken := rbCallReq;
        procName := rbCallProc;
        rbCallLock := FALSE;
        RbRunCall procName;
        ! rbCallCode and rbCallText first: the link task answers when it sees rbCallDone
        rbCallDone := rbCallTaken;
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
            rbCallCode := RB_ERR_PROC;
            rbCallText := "unknown procedure " + procName;
        ELSE
            ! an error the procedure did not handle itself
            rbCallCode := RB_ERR_FAILED;
            rbCallText := "error " + NumToStr(ERRNO, 0) + " in " + procName;
        ENDIF
        RETURN;
    ENDPROC

    ! Report positions in this tool / work object from now on (PS, CF).
    ! name is the name of a tooldata / wobjdata of this task.
    PROC RbSetTool(string name)
        VAR tooldata t;
        GetDataVal name, t;
        rbTool := t;
        rbToolName := name;
    ERROR
        RAISE;
    ENDPROC

    PROC RbSetWobj(string name)
        VAR wobjdata w;
        GetDataVal name, w;
        rbWobj := w;
        rbWobjName := name;
    ERROR
        RAISE;
    ENDPROC

    ! STOP: stop the robot, throw away the planned path, and end a CALL.
    LOCAL TRAP RbStopTrap
        IF NOT IsStopMoveAct(\FromMoveTask) StopMove;
        ClearPath;
        StartMove;
        IF rbInCall THEN
            rbInCall := FALSE;
            rbCallCode := RB_ERR_STOPPED;
            rbCallText := "interrupted by STOP";
            rbCallDone := rbCallTaken;
            ExitCycle;
        ENDIF
    ENDTRAP

    ! SPEED: the new override acts on the movement under way.
    LOCAL TRAP RbSpeedTrap
        SpeedRefresh rbSpeedPct;
        rbTaskSpeed := CSpeedOverride(\CTask);
    ENDTRAP

    ! Runs while the program runs, also in the middle of a movement.
    LOCAL TRAP RbAliveTrap
        VAR num speed;
        rbAlive := RbNextId(rbAlive);
        speed := CSpeedOverride(\CTask);
        IF speed <> rbTaskSpeed rbTaskSpeed := speed;
    ENDTRAP
ENDMODULE
