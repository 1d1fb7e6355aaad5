MODULE undeclared
    ! rapid-lint-expect: undeclared
    ! Min is not a RAPID built-in of every RobotWare 6 release, and nothing
    ! here declares it.
    VAR num backoff := 1;

    PROC main()
        backoff := Min(backoff * 2, 30);
    ENDPROC
ENDMODULE
