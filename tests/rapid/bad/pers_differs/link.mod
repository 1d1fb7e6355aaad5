MODULE link
    ! rapid-lint-expect: pers-differs
    ! rapid-lint-task: T_LINK
    ! A PERS is one value in every task: the same name with another size
    ! in the motion task does not load.
    PERS num rbCallReq{4} := [0,0,0,0];

    PROC main()
        rbCallReq{1} := 1;
    ENDPROC
ENDMODULE
