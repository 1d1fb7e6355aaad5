#!/bin/bash
# check-install.sh MAKE BUILD - `make check-install`: run `make install` into
# temporary directories (DESTDIR) with the build in BUILD, and check the result
# file by file: modes, the generated systemd unit (systemd-analyze verify when
# installed), the man pages (man and groff without warnings), a changed
# bridge.json kept on reinstall, and uninstall leaving only that file.
# Prints one line per failure and a last line "install: N passed, M failed";
# exits non-zero when any failed. Run from the project's root.
set -u
make=${1:?usage: check-install.sh MAKE BUILD} build=${2:?usage: check-install.sh MAKE BUILD}
root=$(mktemp -d "${TMPDIR:-/tmp}/rb-install.XXXXXX") || exit 1
trap 'rm -rf "$root"' EXIT
pass=0 failed=0

# check NAME COMMAND...: one result; the command's output is shown only when it fails.
check() {
    local name=$1
    shift
    if "$@" >"$root/out" 2>&1; then
        pass=$((pass + 1))
    else
        failed=$((failed + 1))
        echo "install: FAIL: $name"
        sed 's/^/    /' "$root/out"
    fi
}
# quiet COMMAND...: succeeds when the command does and writes nothing to stderr.
quiet() {
    local err
    err=$("$@" 2>&1 >/dev/null) && [ -z "$err" ] || { printf '%s\n' "$err"; return 1; }
}
inst() { "$make" -s --no-print-directory BUILD="$build" "$@"; }
mode_is() { [ -f "$2" ] && [ "$(stat -c %a "$2")" = "$1" ] || { ls -l "$2"; return 1; }; }
no_files_but() {
    local d=$1 left
    shift
    left=$(cd "$d" && find . -type f | sort)
    [ "$left" = "$*" ] || { echo "files left:" $left "(want: $*)"; return 1; }
}
has_line() { grep -qxF -- "$2" "$1" || { echo "no line \"$2\" in $1:"; cat "$1"; return 1; }; }

# 1. PREFIX=/usr/local (the default)
a=$root/a p=$root/a/usr/local
check "make install" inst install DESTDIR="$a"
while read -r mode file; do
    check "$file mode $mode" mode_is "$mode" "$a$file"
done <<'EOF'
755 /usr/local/sbin/rapidbridge
755 /usr/local/bin/rapidbridge-cli
755 /usr/local/bin/robot-sim
644 /etc/rapidbridge/bridge.json
644 /usr/local/share/doc/rapidbridge/cell-example.json
644 /usr/local/share/doc/rapidbridge/PROTOCOL.md
644 /usr/local/share/rapidbridge/www/index.html
644 /usr/local/share/rapidbridge/www/app.js
644 /usr/local/share/rapidbridge/www/style.css
644 /usr/local/share/rapidbridge/www/screenshot.png
644 /usr/local/share/man/man8/rapidbridge.8
644 /usr/local/share/man/man5/rapidbridge.json.5
644 /usr/local/lib/systemd/system/rapidbridge.service
EOF
unit=$p/lib/systemd/system/rapidbridge.service
check "installed bridge.json is config/bridge.json" cmp config/bridge.json "$a/etc/rapidbridge/bridge.json"
check "installed daemon runs" "$p/sbin/rapidbridge" --version
check "installed page is bridge/www" cmp bridge/www/app.js "$p/share/rapidbridge/www/app.js"
check "daemon looks for the page in PREFIX" grep -q "$p/share/rapidbridge/www\|/usr/local/share/rapidbridge/www" \
    "$p/sbin/rapidbridge"
check "unit ExecStart in PREFIX" has_line "$unit" "ExecStart=/usr/local/sbin/rapidbridge -c /etc/rapidbridge/bridge.json"
check "unit checks the configuration before start" \
    has_line "$unit" "ExecStartPre=/usr/local/sbin/rapidbridge --check-config -c /etc/rapidbridge/bridge.json"
check "unit has no @PLACEHOLDER@ left" bash -c '! grep -n "@[A-Z_]*@" "$1"' - "$unit"

# The unit as installed names /usr/local/sbin, absent here: verify a copy whose
# commands (ExecStart, ExecStartPre, ExecReload) point into DESTDIR, with the
# man pages of Documentation= looked up there.
if command -v systemd-analyze >/dev/null; then
    mkdir -p "$root/verify"
    sed "s|^\(Exec[A-Za-z]*=\)/usr/local/sbin/|\1$p/sbin/|" "$unit" >"$root/verify/rapidbridge.service"
    check "systemd-analyze verify rapidbridge.service" \
        quiet env MANPATH="$p/share/man" systemd-analyze verify "$root/verify/rapidbridge.service"
else
    echo "install: skipped systemd-analyze verify: systemd-analyze is not installed"
fi
for page in "$p/share/man/man8/rapidbridge.8" "$p/share/man/man5/rapidbridge.json.5"; do
    check "man -l $(basename "$page") without warnings" \
        quiet env MANWIDTH=80 man --warnings -l "$page"
    check "groff -man -ww $(basename "$page") without warnings" quiet groff -man -ww -z "$page"
done
check "man finds rapidbridge(8) under MANDIR" env MANPATH="$p/share/man" man -w 8 rapidbridge
check "man finds rapidbridge.json(5) under MANDIR" env MANPATH="$p/share/man" man -w 5 rapidbridge.json

# 2. Installing again keeps a changed configuration.
echo '{"comment": "changed locally"}' >"$a/etc/rapidbridge/bridge.json"
check "make install over a changed bridge.json" inst install DESTDIR="$a"
check "changed bridge.json kept" has_line "$a/etc/rapidbridge/bridge.json" '{"comment": "changed locally"}'
check "shipped one installed as bridge.json.dist" cmp config/bridge.json "$a/etc/rapidbridge/bridge.json.dist"

# 3. PREFIX=/usr: the unit goes to /lib/systemd/system.
b=$root/b
check "make install PREFIX=/usr" inst install DESTDIR="$b" PREFIX=/usr
check "PREFIX=/usr daemon in /usr/sbin" mode_is 755 "$b/usr/sbin/rapidbridge"
check "PREFIX=/usr unit ExecStart" \
    has_line "$b/lib/systemd/system/rapidbridge.service" "ExecStart=/usr/sbin/rapidbridge -c /etc/rapidbridge/bridge.json"

# 4. Uninstall removes everything but a changed configuration.
check "make uninstall" inst uninstall DESTDIR="$a"
check "uninstall leaves only the changed bridge.json" no_files_but "$a" ./etc/rapidbridge/bridge.json
check "make uninstall PREFIX=/usr" inst uninstall DESTDIR="$b" PREFIX=/usr
check "uninstall PREFIX=/usr leaves no file" no_files_but "$b"

echo "install: $pass passed, $failed failed"
[ "$failed" -eq 0 ]
