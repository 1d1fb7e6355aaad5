#!/bin/bash
# soak.sh BUILD_DIR - `make soak`: the daemon under steady load, watched for leaks.
#
# Starts BUILD/rapidbridge on free loopback ports (port 0, read back from
# its log), one BUILD/robot-sim streaming at SOAK_RATE Hz, SOAK_WATCHERS
# `rapidbridge-cli --json watch` processes writing to /dev/null, and client
# churn: a few short connections a second (one-shot requests, a PING sent to
# the robot, a watch cut off after 0.3 s, a bare connect-and-close). Every
# SOAK_INTERVAL seconds it samples the daemon's VmRSS and open descriptors and
# the bridge's counters, and prints one table row.
#
# Descriptors are counted while the churn is paused (and its connections
# closed), so the count is exact: the listeners, the loop, the robot link
# and the watchers. Growth is judged against the first sample taken after
# SOAK_WARMUP seconds (queues, caches and malloc arenas have filled by then):
# the run fails (exit 1) if a later sample has RSS above that baseline plus
# SOAK_RSS_SLACK_KIB, or a different descriptor count, or if a watcher died,
# the robot link dropped, the stream stopped, a churn request failed or the
# daemon did not exit 0 on SIGTERM.
#
# Loopback only, bounded by SOAK_SECONDS; everything it started is stopped on
# exit (by pid). Logs go to a temporary directory, removed after a pass and
# kept (and named) after a failure.
set -u

BUILD=${1:-build}
SECONDS_TOTAL=${SOAK_SECONDS:-600}
RATE=${SOAK_RATE:-1000}
WATCHERS=${SOAK_WATCHERS:-50}
INTERVAL=${SOAK_INTERVAL:-10}
WARMUP=${SOAK_WARMUP:-30}
RSS_SLACK_KIB=${SOAK_RSS_SLACK_KIB:-2048}
CHURN_PERIOD=0.2          # seconds between churn connections
START_WAIT=10             # seconds for the daemon to bind
PAUSE_WAIT=20             # seconds for the churn to pause (a request has a 10 s timeout)
SETTLE=0.5                # seconds for the daemon to close churn connections

BIN=$BUILD/rapidbridge
SIM=$BUILD/robot-sim
CLI=$BUILD/rapidbridge-cli
for b in "$BIN" "$SIM" "$CLI"; do
    [ -x "$b" ] || { echo "soak: $b not found; run make first" >&2; exit 1; }
done

dir=$(mktemp -d "${TMPDIR:-/tmp}/rapidbridge-soak.XXXXXX") || exit 1
daemon_pid= sim_pid= churn_pid=
watcher_pids=()
failed=0
keep=0

fail() {
    echo "soak: FAIL: $*"
    failed=1
}

stop_pid() {
    local pid=$1
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}

# The churn loop ends by itself once its current request is done (so no
# client of it is left behind); then it is stopped by pid.
stop_churn() {
    [ -n "$churn_pid" ] || return 0
    touch "$dir/stop"
    for _ in $(seq 150); do
        kill -0 "$churn_pid" 2>/dev/null || break
        sleep 0.1
    done
    stop_pid "$churn_pid"
    churn_pid=
}

cleanup() {
    trap - EXIT INT TERM
    stop_churn
    for pid in "${watcher_pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${watcher_pids[@]}"; do
        stop_pid "$pid"
    done
    stop_pid "$sim_pid"
    stop_pid "$daemon_pid"
    if [ "$keep" = 1 ] || [ "$failed" = 1 ]; then
        echo "soak: logs kept in $dir" >&2
    else
        rm -rf "$dir"
    fi
}
trap cleanup EXIT
trap 'failed=1; exit 130' INT
trap 'failed=1; exit 143' TERM

cat >"$dir/bridge.json" <<'EOF'
{
  "comment": "soak test: one simulated robot on loopback, free ports",
  "robot_listen": "127.0.0.1:0",
  "json_listen": "127.0.0.1:0",
  "robots": [{"name": "rob1", "peer": "127.0.0.1", "commands": ["PING", "STOP"]}]
}
EOF

"$BIN" -c "$dir/bridge.json" 2>"$dir/daemon.log" &
daemon_pid=$!
robot_port= client_port=
for _ in $(seq $((START_WAIT * 10))); do
    kill -0 "$daemon_pid" 2>/dev/null || { daemon_pid=; fail "the daemon exited at start-up"; cat "$dir/daemon.log"; exit 1; }
    if grep -q "listening for clients on" "$dir/daemon.log"; then
        robot_port=$(sed -n 's/.*listening for robots on .*:\([0-9][0-9]*\)$/\1/p' "$dir/daemon.log" | head -n 1)
        client_port=$(sed -n 's/.*listening for clients on .*:\([0-9][0-9]*\)$/\1/p' "$dir/daemon.log" | head -n 1)
        break
    fi
    sleep 0.1
done
if [ -z "$robot_port" ] || [ -z "$client_port" ]; then
    fail "the daemon did not report its ports within $START_WAIT s"
    exit 1
fi
conn=127.0.0.1:$client_port

"$SIM" --connect "127.0.0.1:$robot_port" --name rob1 --rate "$RATE" 2>"$dir/sim.log" &
sim_pid=$!
for i in $(seq "$WATCHERS"); do
    "$CLI" --connect "$conn" --json watch >/dev/null 2>"$dir/watcher.$i.err" &
    watcher_pids+=($!)
done

# One churn connection, chosen by turn. Appends "ok" or "fail <what>" to
# the churn log.
churn_one() {
    local turn=$1 what st=0
    case $((turn % 7)) in
    0) what=stats; "$CLI" --connect "$conn" --timeout 10 stats >/dev/null 2>&1 || st=$? ;;
    1) what=robots; "$CLI" --connect "$conn" --timeout 10 robots >/dev/null 2>&1 || st=$? ;;
    2) what=state; "$CLI" --connect "$conn" --timeout 10 state rob1 >/dev/null 2>&1 || st=$? ;;
    3) what=version; "$CLI" --connect "$conn" --timeout 10 --json version >/dev/null 2>&1 || st=$? ;;
    4) what=send; "$CLI" --connect "$conn" --timeout 10 send rob1 PING >/dev/null 2>&1 || st=$? ;;
    5) what=watch; timeout --preserve-status -s INT 0.3 "$CLI" --connect "$conn" --json watch >/dev/null 2>&1 || st=$? ;;
    6) what=connect; { exec 3<>"/dev/tcp/127.0.0.1/$client_port" && exec 3>&-; } 2>/dev/null || st=$? ;;
    esac
    if [ "$st" = 0 ]; then echo ok; else echo "fail $what (exit $st)"; fi >>"$dir/churn.log"
}

churn_loop() {
    local turn=0
    while [ ! -e "$dir/stop" ]; do
        if [ -e "$dir/pause" ]; then
            touch "$dir/paused"
            while [ -e "$dir/pause" ] && [ ! -e "$dir/stop" ]; do sleep 0.05; done
            rm -f "$dir/paused"
            continue
        fi
        churn_one "$turn"
        turn=$((turn + 1))
        sleep "$CHURN_PERIOD"
    done
}
: >"$dir/churn.log"
churn_loop &
churn_pid=$!

# member NAME JSON: the integer value of "NAME" in a flat-enough JSON line.
member() {
    [[ $2 =~ \"$1\":([0-9]+) ]] && echo "${BASH_REMATCH[1]}" || echo "?"
}

printf '%6s %9s %5s %8s %11s %12s %10s %9s %10s\n' \
    t_s rss_kib fds clients frames_in frames_out drops churn_ok churn_fail
start=$(date +%s)
base_rss= base_fds= base_t= max_rss=0 last_frames=
for ((t = INTERVAL; t <= SECONDS_TOTAL; t += INTERVAL)); do
    while (( $(date +%s) - start < t )); do sleep 0.2; done
    kill -0 "$daemon_pid" 2>/dev/null || { daemon_pid=; fail "the daemon died at about $t s"; break; }

    touch "$dir/pause"
    for _ in $(seq $((PAUSE_WAIT * 20))); do [ -e "$dir/paused" ] && break; sleep 0.05; done
    [ -e "$dir/paused" ] || fail "the churn did not pause within $PAUSE_WAIT s"
    sleep "$SETTLE"
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$daemon_pid/status")
    fds=$(ls "/proc/$daemon_pid/fd" | wc -l)
    stats=$("$CLI" --connect "$conn" --timeout 10 --json stats 2>&1)
    rm -f "$dir/pause"

    ok=$(grep -c '^ok' "$dir/churn.log")
    bad=$(grep -c '^fail' "$dir/churn.log")
    frames=$(member frames_in "$stats")
    printf '%6d %9d %5d %8s %11s %12s %10s %9d %10d\n' "$t" "$rss" "$fds" \
        "$(member clients "$stats")" "$frames" "$(member frames_out "$stats")" \
        "$(member drops "$stats")" "$ok" "$bad"

    [ "$(member robots_connected "$stats")" = 1 ] || fail "at $t s the robot is not linked: $stats"
    if [ -n "$last_frames" ] && ! [ "$frames" -gt "$last_frames" ] 2>/dev/null; then
        fail "at $t s frames_in did not grow ($last_frames -> $frames)"
    fi
    last_frames=$frames
    if [ -z "$base_rss" ]; then
        if ((t >= WARMUP)); then base_rss=$rss base_fds=$fds base_t=$t; fi
        continue
    fi
    ((rss > max_rss)) && max_rss=$rss
    ((rss > base_rss + RSS_SLACK_KIB)) &&
        fail "at $t s VmRSS is $rss KiB, more than $RSS_SLACK_KIB KiB over the $base_rss KiB at $base_t s"
    ((fds != base_fds)) && fail "at $t s the daemon has $fds descriptors open, $base_fds at $base_t s"
done

dead=0
for pid in "${watcher_pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || dead=$((dead + 1))
done
((dead == 0)) || fail "$dead of $WATCHERS watchers ended (see $dir/watcher.*.err)"
bad=$(grep -c '^fail' "$dir/churn.log")
((bad == 0)) || { fail "$bad churn requests failed:"; grep '^fail' "$dir/churn.log" | sort | uniq -c; }

if [ -z "$base_rss" ]; then
    echo "soak: no sample after the ${WARMUP} s warm-up: nothing to compare (SOAK_SECONDS=$SECONDS_TOTAL)"
elif ((max_rss == 0)); then
    echo "soak: baseline at $base_t s: VmRSS $base_rss KiB, $base_fds descriptors; no later sample"
else
    echo "soak: baseline at $base_t s: VmRSS $base_rss KiB, $base_fds descriptors;" \
        "later: VmRSS at most $max_rss KiB ($((max_rss - base_rss)) KiB, bound +$RSS_SLACK_KIB)"
fi

# The daemon must stop cleanly; the watchers then see BYE and end.
if [ -n "$daemon_pid" ]; then
    stop_churn
    kill -TERM "$daemon_pid"
    st=0
    wait "$daemon_pid" || st=$?
    daemon_pid=
    [ "$st" = 0 ] || fail "the daemon exited with status $st on SIGTERM"
fi
if [ "$failed" = 0 ]; then
    echo "soak: PASS ($SECONDS_TOTAL s, $WATCHERS watchers, robot at $RATE Hz)"
    exit 0
fi
grep -E ' (warn|error): ' "$dir/daemon.log" | tail -n 20
exit 1
