MODULE motion
    ! rapid-lint-task: T_ROB
    PERS num rbCallReq{2} := [0,0];

    PROC main()
        WaitUntil rbCallReq{1} <> 0;
    ENDPROC
ENDMODULE
