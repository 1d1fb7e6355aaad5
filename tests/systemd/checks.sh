#!/bin/bash
# checks.sh - the installed rapidbridge.service under a real systemd. Runs
# inside the container that run-in-nspawn.sh boots, as a oneshot unit whose
# output goes to the console: one line per check, "RB-CHECK PASS name" or
# "RB-CHECK FAIL name: why", "RB-CHECK INFO ..." for numbers worth seeing,
# and "RB-CHECK DONE" at the end. Every wait is bounded.
set -u
conf=/etc/rapidbridge/bridge.json
unit=rapidbridge

# fd 3 is the console even inside a check, whose output is captured.
exec 3>&1
say() { echo "RB-CHECK $*" >&3; }
# check NAME COMMAND...: PASS when the command succeeds, else FAIL with the
# last lines of its output.
check() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then
        say "PASS $name"
    else
        say "FAIL $name: $(printf '%s' "$out" | tail -4 | tr '\n' ' ')"
        journalctl -u $unit --no-pager -n 15 -o cat | sed 's/^/RB-CHECK INFO journal: /'
    fi
}
# retry SECONDS COMMAND...: until the command succeeds, every 0.2 s.
retry() {
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -lt "$end" ] || return 1
        sleep 0.2
    done
}
prop() { systemctl show -p "$1" --value $unit; }
is_active() { [ "$(systemctl is-active $unit)" = active ] || { systemctl status --no-pager $unit; return 1; }; }
status_is() {
    systemctl status --no-pager $unit | grep -qF "Status: \"$1\"" ||
        { echo "no Status: \"$1\" in:"; systemctl status --no-pager $unit | head -6; return 1; }
}
journal_has() { journalctl -u $unit --no-pager -o cat | grep -qF -- "$1" || { echo "not in the journal: $1"; return 1; }; }
journal_count() { journalctl -u $unit --no-pager -o cat | grep -cF -- "$1"; }

config() { # robots as JSON members, then extra top-level members
    cat >"$conf" <<JSON
{"robot_listen": "127.0.0.1:1025", "json_listen": "127.0.0.1:7025",
 "robots": [$1], "limits": {"idle_timeout": 30}$2}
JSON
}
ROB1='{"name": "rob1", "peer": "127.0.0.1", "commands": ["PING"]}'
ROB2='{"name": "rob2"}'

# --- start with the configuration as installed (0644, read by the dynamic user)
t_start() {
    systemctl start $unit || return 1
    is_active
}
check "systemctl start: active once READY=1 (Type=notify, shipped bridge.json)" t_start
t_dynamic_user() {
    local pid=$(prop MainPID) uid
    uid=$(stat -c %u "/proc/$pid") || return 1
    [ "$uid" -ne 0 ] || { echo "main process runs as root"; return 1; }
    retry 3 journal_has "$conf: configuration valid, 1 robot(s)" &&
        journal_has "ready: 1 robot(s) configured"
}
check "DynamicUser (non-root uid) read the configuration; ExecStartPre checked it" t_dynamic_user
check "systemctl status shows the STATUS= line" retry 3 status_is "0/1 robots linked; 0 clients"

robot-sim --connect 127.0.0.1:1025 --name rob1 --rate 5 >/dev/null 2>&1 &
sim=$!
check "STATUS= follows a robot link" retry 5 status_is "1/1 robots linked: rob1; 0 clients"

# --- reload with a good edit: applied, same process
t_reload_good() {
    local pid=$(prop MainPID)
    config "$ROB1, $ROB2" ""
    systemctl reload $unit || return 1
    retry 5 status_is "1/2 robots linked: rob1; 0 clients" || return 1
    journal_has "reload: robot rob2 added" || return 1
    [ "$(prop MainPID)" = "$pid" ] || { echo "MainPID changed"; return 1; }
}
check "systemctl reload, good edit: applied (rob2 added), same MainPID" t_reload_good

# --- reload with a broken edit: refused before SIGHUP, old config stays
t_reload_bad() {
    local pid=$(prop MainPID) hups=$(journal_count "SIGHUP: reloading")
    printf '{"robots": [{"name": "rob1",}]}\n' >"$conf"
    if systemctl reload $unit; then echo "reload succeeded"; return 1; fi
    is_active || return 1
    [ "$(prop MainPID)" = "$pid" ] || { echo "MainPID changed"; return 1; }
    retry 3 journal_has "$conf:1:" || return 1
    [ "$(journal_count "SIGHUP: reloading")" = "$hups" ] || { echo "the daemon got SIGHUP"; return 1; }
    rapidbridge-cli -j robots | grep -q '"rob2"' || { echo "rob2 gone: old config not in force"; return 1; }
    status_is "1/2 robots linked: rob1; 0 clients"
}
check "systemctl reload, broken edit: fails, still active with the old config" t_reload_bad

# --- the daemon's own guard: SIGHUP with a broken file keeps it running
t_sighup_bad() {
    systemctl kill -s HUP --kill-who=main $unit || return 1
    retry 5 status_is "reload refused, old configuration in force; 1/2 robots linked: rob1; 0 clients" || return 1
    journal_has "reload refused, the running configuration stays" && is_active
}
check "SIGHUP with the broken file: logged, STATUS says so, still active" t_sighup_bad

# --- a start with the broken file stops at ExecStartPre
t_start_bad() {
    if systemctl restart $unit; then echo "restart succeeded"; return 1; fi
    systemctl status --no-pager $unit | grep -q "ExecStartPre=.*status=1/FAILURE" ||
        { systemctl status --no-pager $unit | head -12; return 1; }
    config "$ROB1, $ROB2" ', "record": "/var/lib/rapidbridge/cell.log"'
    systemctl reset-failed $unit
    systemctl start $unit && is_active
}
check "start with a broken file: ExecStartPre refuses it; fixed file starts" t_start_bad
check "STATUS= after the restart" retry 8 status_is "1/2 robots linked: rob1; 0 clients"
t_record() {
    retry 5 grep -q " rob1 HI," /var/lib/rapidbridge/cell.log || { ls -l /var/lib/rapidbridge/; return 1; }
}
check "record file in the StateDirectory written by the dynamic user" t_record

# --- the watchdog: a main process that stops its loop is restarted
t_watchdog() {
    local pid=$(prop MainPID) n0=$(prop NRestarts) start=$SECONDS
    kill -STOP "$pid" || return 1
    restarted() { [ "$(prop NRestarts)" -gt "$n0" ] && [ "$(prop MainPID)" != "$pid" ] &&
        [ "$(prop MainPID)" != 0 ] && [ "$(systemctl is-active $unit)" = active ]; }
    retry 45 restarted || { echo "no restart within 45 s: NRestarts $(prop NRestarts), MainPID $(prop MainPID)"; return 1; }
    say "INFO watchdog: stopped pid $pid, restarted as $(prop MainPID) after $((SECONDS - start)) s (WatchdogSec=$(prop WatchdogUSec))"
    journal_has "Watchdog timeout"
}
check "watchdog: SIGSTOPped daemon killed and restarted (NRestarts, new MainPID)" t_watchdog

# --- secrets: root-only file unreadable to the dynamic user, fine via LoadCredential=
t_credential() {
    install -m 0600 /dev/null /etc/rapidbridge/secret.key
    echo "not a real key" >/etc/rapidbridge/secret.key
    install -m 0644 /dev/null /etc/rapidbridge/ca.pem
    install -m 0644 /dev/null /etc/rapidbridge/client.crt
    local mq='"host": "127.0.0.1", "ca": "/etc/rapidbridge/ca.pem", "cert": "/etc/rapidbridge/client.crt"'
    config "$ROB1" ", \"mqtt\": {$mq, \"key\": \"/etc/rapidbridge/secret.key\"}"
    if systemctl restart $unit; then echo "started with a key it cannot read"; return 1; fi
    retry 3 journal_has "mqtt.key /etc/rapidbridge/secret.key cannot be read: Permission denied" || return 1
    mkdir -p /etc/systemd/system/$unit.service.d
    printf '[Service]\nLoadCredential=mqtt.key:/etc/rapidbridge/secret.key\n' \
        >/etc/systemd/system/$unit.service.d/credential.conf
    systemctl daemon-reload
    config "$ROB1" ", \"mqtt\": {$mq, \"key\": \"/run/credentials/$unit.service/mqtt.key\"}"
    systemctl reset-failed $unit
    systemctl start $unit && is_active
}
check "root-only key: refused as is, read via LoadCredential=" t_credential

score=$(systemd-analyze security $unit 2>&1 | tail -1)
say "INFO systemd-analyze security: ${score#→ }"
check "systemd-analyze security rapidbridge runs" systemd-analyze security $unit

t_stop() {
    systemctl stop $unit || return 1
    [ "$(systemctl is-active $unit)" = inactive ] || return 1
    journal_has "shutting down"
}
check "systemctl stop: inactive after a clean shutdown" t_stop
kill "$sim" 2>/dev/null
say "DONE"
