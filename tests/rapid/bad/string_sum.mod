MODULE string_sum
    ! rapid-lint-expect: string-length
    ! Each part fits, their sum (45 + 39 = 84 characters; "\0A" is one) does not.
    CONST string HEAD := "rapidbridge: the link to the bridge was lost,";
    PROC main()
        ErrWrite \W, "rapidbridge", HEAD + " and connecting again failed too.\0A\0A\0A\0A\0A\0A";
    ENDPROC
ENDMODULE
