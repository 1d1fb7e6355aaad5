#!/bin/bash
# record.sh - record a robot-sim session with `rapidbridge --record`, the way
# the logs in this folder were made (see README.md).
#
# usage: tests/replay/record.sh [-b BUILD] [-t SECONDS] [-c 'TYPE NAME=VALUE...']... OUT.log [SIM ARGS...]
#
#   -b BUILD    where rapidbridge, robot-sim and rapidbridge-cli are (default build)
#   -t SECONDS  stop the simulator after this long if it has not ended by
#               itself (--count) (default 10)
#   -c CMD      once the link is up, send this command to the robot with
#               `rapidbridge-cli send ROBOT CMD`, in the order given; the AKs
#               the simulator answers are recorded with everything else
#
# The simulator runs with --once and SIM ARGS (its --name is the robot, rob1
# by default). Both programs listen/connect on 127.0.0.1 with ports picked by
# the OS. OUT.log starts with one comment line saying how it was made.
set -euo pipefail

build=build
seconds=10
cmds=()
while getopts "b:t:c:" opt; do
    case $opt in
    b) build=$OPTARG ;;
    t) seconds=$OPTARG ;;
    c) cmds+=("$OPTARG") ;;
    *) sed -n '4,14p' "$0" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { sed -n '4,14p' "$0" >&2; exit 2; }
out=$1
shift
sim_args=("$@")

robot=rob1
for ((i = 0; i < ${#sim_args[@]}; i++)); do
    [ "${sim_args[$i]}" = --name ] && robot=${sim_args[$((i + 1))]}
done

work=$(mktemp -d /tmp/rb-record-XXXXXX)
daemon_pid=
sim_pid=
cleanup() {
    [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null || true
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/bridge.json" <<EOF
{"robots":[{"name":"$robot","commands":["PING","SETDO","SETREG","SPEED","CALL","STOP"]}]}
EOF
"$build/rapidbridge" -c "$work/bridge.json" --robot-listen 127.0.0.1:0 \
    --json-listen 127.0.0.1:0 --record "$work/rec.log" 2>"$work/bridge.err" &
daemon_pid=$!

# The bound ports are in the daemon's log (see the daemon's start-up lines).
port_of() { sed -n "s/.*listening for $1 on 127\.0\.0\.1:\([0-9]*\).*/\1/p" "$work/bridge.err"; }
for _ in $(seq 50); do
    grep -q "ready" "$work/bridge.err" && break
    sleep 0.1
done
robot_port=$(port_of robots)
client_port=$(port_of clients)
[ -n "$robot_port" ] && [ -n "$client_port" ] || { cat "$work/bridge.err" >&2; exit 1; }

"$build/robot-sim" --connect "127.0.0.1:$robot_port" --once "${sim_args[@]}" 2>"$work/sim.err" &
sim_pid=$!
for _ in $(seq 50); do
    grep -q "robot $robot: link up" "$work/bridge.err" && break
    sleep 0.1
done

for c in "${cmds[@]}"; do
    sleep 0.3
    # shellcheck disable=SC2086 # a command is its type and NAME=VALUE words
    "$build/rapidbridge-cli" --connect "127.0.0.1:$client_port" --json send "$robot" $c || true
done

for _ in $(seq "$((seconds * 10))"); do
    kill -0 "$sim_pid" 2>/dev/null || break
    sleep 0.1
done
kill "$sim_pid" 2>/dev/null || true
wait "$sim_pid" || true
sim_pid=
kill "$daemon_pid"
wait "$daemon_pid" || true
daemon_pid=

{
    echo "# recorded by tests/replay/record.sh: robot-sim ${sim_args[*]}${cmds[*]:+; commands: $(printf '%s; ' "${cmds[@]}")}"
    cat "$work/rec.log"
} >"$out"
echo "wrote $out: $(grep -vc '^#' "$out") frames" >&2
