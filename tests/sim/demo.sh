#!/bin/bash
# demo.sh BUILD_DIR - `make run`: the bridge with one simulated robot, live.
#
# Starts BUILD/rapidbridge -c config/bridge.json in the background (with the
# operator page of bridge/www on 127.0.0.1, a free port or RB_HTTP_PORT, and
# prints its URL), waits for
# it to listen, starts BUILD/robot-sim as rob1 at 20 Hz, then shows the live
# stream with BUILD/rapidbridge-cli (or, without it, a raw watch over nc or
# bash's /dev/tcp). Ctrl-C stops everything this script started. The bridge's
# and the simulator's logs go to files in a temporary directory, named at the
# start and kept after the end.
set -u

BUILD=${1:-build}
CONFIG=${RB_DEMO_CONFIG:-config/bridge.json}
WAIT_SECONDS=10

for bin in "$BUILD/rapidbridge" "$BUILD/robot-sim"; do
    if [ ! -x "$bin" ]; then
        echo "demo: $bin not found; run make first" >&2
        exit 1
    fi
done

logdir=$(mktemp -d "${TMPDIR:-/tmp}/rapidbridge-demo.XXXXXX") || exit 1
bridge_log=$logdir/bridge.log
sim_log=$logdir/robot-sim.log
bridge_pid=
sim_pid=

cleanup() {
    trap - EXIT INT TERM
    for pid in $sim_pid $bridge_pid; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in $sim_pid $bridge_pid; do
        wait "$pid" 2>/dev/null
    done
    echo "demo: stopped; logs in $logdir" >&2
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "demo: logs in $logdir" >&2
# The operator page from this source tree, on a free port (RB_HTTP_PORT fixes it).
"$BUILD/rapidbridge" -c "$CONFIG" --http-listen "127.0.0.1:${RB_HTTP_PORT:-0}" \
    --http-root "$PWD/bridge/www" 2>"$bridge_log" &
bridge_pid=$!

# The bridge logs "listening for robots on HOST:PORT" and "listening for
# clients on HOST:PORT" once bound; take the ports from there.
robot_port=
client_port=
for _ in $(seq $((WAIT_SECONDS * 10))); do
    if ! kill -0 "$bridge_pid" 2>/dev/null; then
        echo "demo: the bridge exited during start-up:" >&2
        cat "$bridge_log" >&2
        bridge_pid=
        exit 1
    fi
    if grep -q "listening for clients on" "$bridge_log"; then
        robot_port=$(sed -n 's/.*listening for robots on .*:\([0-9][0-9]*\).*/\1/p' "$bridge_log" | head -n 1)
        client_port=$(sed -n 's/.*listening for clients on .*:\([0-9][0-9]*\).*/\1/p' "$bridge_log" | head -n 1)
        break
    fi
    sleep 0.1
done
if [ -z "$client_port" ]; then
    echo "demo: the bridge did not start listening within ${WAIT_SECONDS} s:" >&2
    cat "$bridge_log" >&2
    exit 1
fi
robot_port=${robot_port:-1025}
http=$(sed -n 's/.*listening for HTTP and WebSocket on \([^ ]*\).*/\1/p' "$bridge_log" | head -n 1)
[ -n "$http" ] && echo "demo: the operator page is at http://$http/ (metrics: http://$http/metrics)" >&2

"$BUILD/robot-sim" --connect "127.0.0.1:$robot_port" --name rob1 --rate 20 2>"$sim_log" &
sim_pid=$!
echo "demo: bridge pid $bridge_pid, robot-sim pid $sim_pid; Ctrl-C to stop" >&2

watch='{"cmd":"watch","enable":true}'
if [ -x "$BUILD/rapidbridge-cli" ]; then
    "$BUILD/rapidbridge-cli" --connect "127.0.0.1:$client_port" watch
elif command -v nc >/dev/null 2>&1; then
    # Typed lines go to the bridge too, e.g. {"cmd":"stats"}.
    { echo "$watch"; cat; } | nc 127.0.0.1 "$client_port"
else
    exec 3<>"/dev/tcp/127.0.0.1/$client_port" || exit 1
    echo "$watch" >&3
    cat <&3
fi
