#!/bin/bash
# run.sh PYTHON TEST.py... - run each web test with Debian's python3 (the one
# that has python3-websockets, -prometheus-client and -selenium), at most
# RB_WEB_TIMEOUT seconds each (default 180); fail at the end if any failed.
py=$1; shift
failed=()
for t in "$@"; do
    echo "=== $(basename "$t")"
    timeout "${RB_WEB_TIMEOUT:-180}" "$py" "$t" || failed+=("$(basename "$t")")
done
if [ ${#failed[@]} -ne 0 ]; then
    echo "FAILED web tests: ${failed[*]}"
    exit 1
fi
