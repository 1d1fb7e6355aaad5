MODULE reserved_word
    ! rapid-lint-expect: reserved-word
    PROC main()
        VAR num Step := 1;
        WaitTime Step;
    ENDPROC
ENDMODULE
