MODULE dup_name
    ! rapid-lint-expect: dup-name
    ! RAPID names ignore case: the array and the function are one name.
    LOCAL VAR num rbIoKind{2};

    LOCAL FUNC num RbIoKind(string name)
        RETURN StrLen(name);
    ENDFUNC

    PROC main()
        rbIoKind{1} := 0;
    ENDPROC
ENDMODULE
