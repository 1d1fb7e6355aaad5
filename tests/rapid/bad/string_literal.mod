MODULE string_literal
    ! rapid-lint-expect: string-length
    PROC main()
        ErrWrite \W, "rapidbridge", "This reason is longer than the eighty characters that one RAPID string can ever hold.";
    ENDPROC
ENDMODULE
