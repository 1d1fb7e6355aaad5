MODULE one
    ! rapid-lint-expect: dup-name
    ! rapid-lint-task: T_SAME
    ! Two modules of one task declare the same global name.
    PERS num rbPeriod := 0.1;

    PROC main()
        WaitTime rbPeriod;
    ENDPROC
ENDMODULE
