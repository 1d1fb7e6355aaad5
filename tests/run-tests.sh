#!/bin/bash
# Run each test binary given, show its cmocka output, and fail at the end if
# any of them failed, so one broken suite does not hide the others.
failed=()
for t in "$@"; do
    echo "=== $(basename "$t")"
    if ! "$t"; then failed+=("$(basename "$t")"); fi
done
if [ ${#failed[@]} -ne 0 ]; then
    echo "FAILED suites: ${failed[*]}"
    exit 1
fi
echo "all $# suites passed"
