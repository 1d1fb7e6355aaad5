#!/bin/bash
# run-in-nspawn.sh - the installed service under a real systemd.
#
#   tests/systemd/run-in-nspawn.sh [BUILD]      (make check-systemd runs it)
#
# Boots a Debian 12 container (systemd-nspawn) into which `make install`
# (PREFIX=/usr/local) put the daemon, the CLI, the simulator and the unit,
# and lets a oneshot unit inside run tests/systemd/checks.sh: start (Type=
# notify, the dynamic user reading the configuration), the STATUS= line in
# `systemctl status`, reloads with a good and a broken edit, a start refused
# by --check-config, recording in the StateDirectory, the watchdog
# restarting a stopped daemon, a secret handed over with LoadCredential=,
# and the `systemd-analyze security` score. The container has its own
# network namespace (loopback only).
#
# The Debian root is built once with debootstrap and kept in
# $RB_NSPAWN_CACHE (default /var/tmp/rapidbridge-systemd, one root per
# package list); every run boots a
# fresh copy of it. The mirror is the one the host's apt uses, or
# $RB_DEBIAN_MIRROR.
#
# Needs root, systemd-nspawn (systemd-container) and debootstrap; without
# them, or when the container cannot boot here, it says exactly why and
# counts as skipped. Bounded: RB_NSPAWN_TIMEOUT seconds for the boot and all
# checks (default 240). Last line: "systemd: N passed, M failed[, 1 skipped]".
set -u
cd "$(dirname "$0")/../.."
build=${1:-build}
cache=${RB_NSPAWN_CACHE:-/var/tmp/rapidbridge-systemd}
limit=${RB_NSPAWN_TIMEOUT:-240}
# Runtime libraries of the binaries, procps for the unit's /bin/kill.
# libwebsockets-evlib-ev: the libev plugin libwebsockets loads for http_listen.
packages=systemd,systemd-sysv,dbus,procps,libev4,libjansson4,libmosquitto1,libsystemd0,libwebsockets17,libwebsockets-evlib-ev
# One root per package list, so trees built from branches with other lists
# do not rebuild each other's.
base=$cache/bookworm-$(printf '%s' "$packages" | md5sum | cut -c1-8)

skip() {
    echo "systemd: skipped: $*"
    echo "systemd: 0 passed, 0 failed, 1 skipped"
    exit 0
}

[ "${RB_SKIP_NSPAWN:-}" = 1 ] && skip "RB_SKIP_NSPAWN=1"
[ "$(id -u)" -eq 0 ] || skip "not root (systemd-nspawn needs root)"
command -v systemd-nspawn >/dev/null || skip "systemd-nspawn is not installed (Debian package systemd-container)"
[ -x "$build/rapidbridge" ] || { echo "systemd: $build/rapidbridge is not built"; echo "systemd: 0 passed, 1 failed"; exit 1; }

# The host's Debian mirror: the first URI of a "bookworm" source, deb822 or
# one-line style.
mirror() {
    if [ -n "${RB_DEBIAN_MIRROR:-}" ]; then echo "$RB_DEBIAN_MIRROR"; return; fi
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk '/^URIs:/ {u=$2} /^Suites:/ && / bookworm( |$)/ && u {print u; exit}' "$f"
    done | head -1 | grep . && return
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}'
}

# The cached root, built when missing or made with another package list.
mkdir -p "$cache"
exec 9>"$cache/lock"
flock 9
if [ "$(cat "$base/.rapidbridge-packages" 2>/dev/null)" != "$packages" ]; then
    command -v debootstrap >/dev/null || skip "debootstrap is not installed (needed once, to build $base)"
    url=$(mirror)
    [ -n "$url" ] || skip "no Debian mirror: none in the host's apt sources, RB_DEBIAN_MIRROR unset"
    echo "systemd: building the Debian 12 root in $base (once; log: $cache/debootstrap.log)"
    rm -rf "$base" "$base.new"
    if ! timeout 900 debootstrap --variant=minbase --include="$packages" bookworm "$base.new" "$url" \
        >"$cache/debootstrap.log" 2>&1; then
        rm -rf "$base.new"
        skip "debootstrap of Debian 12 from $url failed: $(tail -1 "$cache/debootstrap.log")"
    fi
    echo "$packages" >"$base.new/.rapidbridge-packages"
    mv "$base.new" "$base"
fi
# Copies left by a run that was killed.
find "$cache" -maxdepth 1 -name 'run.*' -mmin +60 -exec rm -rf {} +
flock -u 9

run=$(mktemp -d "$cache/run.XXXXXX") || exit 1
trap 'rm -rf "$run"' EXIT
trap 'exit 1' INT TERM
root=$run/root
cp -a "$base" "$root"

# The project as `make install` puts it, then the test unit and its checks.
if ! make -s --no-print-directory BUILD="$build" install DESTDIR="$root" PREFIX=/usr/local \
    >"$run/install.log" 2>&1; then
    cat "$run/install.log"
    echo "systemd: make install into the container failed"
    echo "systemd: 0 passed, 1 failed"
    exit 1
fi
install -d "$root/rb-test"
install -m 0755 tests/systemd/checks.sh "$root/rb-test/checks.sh"
cat >"$root/etc/systemd/system/rb-checks.service" <<'UNIT'
[Unit]
Description=rapidbridge checks under systemd
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/bin/bash /rb-test/checks.sh
ExecStopPost=/bin/systemctl poweroff --no-block
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=200
UNIT
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
ln -s ../rb-checks.service "$root/etc/systemd/system/multi-user.target.wants/rb-checks.service"
# No login prompt on the console: it would only add noise.
ln -sf /dev/null "$root/etc/systemd/system/console-getty.service"

echo "systemd: booting the container (at most $limit s)"
timeout --kill-after=10 "$limit" systemd-nspawn -q -D "$root" --register=no --keep-unit \
    --private-network --machine="rapidbridge-test-$$" -b </dev/null >"$run/console" 2>&1
rc=$?
# The lines of the checks, without the console's time stamp and unit prefix.
sed -n 's/\r//; s/.*RB-CHECK //p' "$run/console" >"$run/results"
cat "$run/results"
pass=$(grep -c '^PASS' "$run/results")
failed=$(grep -c '^FAIL' "$run/results")

if ! grep -q '^DONE' "$run/results"; then
    if ! grep -aq 'running in system mode' "$run/console"; then
        # systemd never came up: the machine cannot boot a container.
        skip "systemd-nspawn could not boot the container (exit $rc): $(grep -av '^$' "$run/console" | tail -3 | tr '\n' ' ')"
    fi
    echo "systemd: the checks did not finish (nspawn exit $rc$([ $rc -eq 124 ] && echo ", timed out after $limit s")); console tail:"
    tail -40 "$run/console" | sed 's/^/    /'
    failed=$((failed + 1))
elif [ "$failed" -gt 0 ]; then
    echo "systemd: console of the failed run:"
    grep -av 'RB-CHECK' "$run/console" | tail -60 | sed 's/^/    /'
fi
echo "systemd: $pass passed, $failed failed"
[ "$failed" -eq 0 ]
