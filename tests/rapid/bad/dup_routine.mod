MODULE dup_routine
    ! rapid-lint-expect: dup-name
    ! A parameter and a local variable of one routine, names differing in case.
    PROC RbWait(num period)
        VAR num Period := 1;
        WaitTime Period;
    ENDPROC
ENDMODULE
