MODULE two
    ! rapid-lint-task: T_SAME
    PROC RBPERIOD()
        WaitTime 1;
    ENDPROC
ENDMODULE
