#!/bin/sh
# Check the deployment files with systemd's own tools:
#  - systemd-analyze verify on the generated iolatd.service (ExecStart
#    pointed at the built daemon/iolatd) and on iolatd.socket;
#  - systemd-sysusers and systemd-tmpfiles applied to an empty root in a
#    temporary directory (never to this system).
# Any output other than a known harmless line fails the test. Skips (77)
# when systemd-analyze is missing or cannot run here.
set -u

top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
name=deploy_verify

skip() { echo "SKIP: $name: $*"; exit 77; }
fail() { echo "FAIL: $name: $*"; exit 1; }

command -v systemd-analyze >/dev/null 2>&1 ||
	skip "systemd-analyze not found (Debian package systemd)"

service=$top_builddir/deploy/iolatd.service
socket=$top_srcdir/deploy/iolatd.socket
daemon=$top_builddir/daemon/iolatd
for f in "$service" "$socket" "$daemon"; do
	test -f "$f" || fail "$f not found (run make first)"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/iolat-deploy.XXXXXX") || fail "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

abs_daemon=$(cd "$(dirname "$daemon")" && pwd)/$(basename "$daemon")

# Lines systemd-analyze may print that are about the host, not our units:
# diagnostics on the system's own unit files, pulled in as dependencies
# (multi-user.target, sockets.target, ...).
harmless='^/(usr/)?lib/systemd/|^/etc/systemd/|^/run/systemd/'

# verify OUT UNIT...: run systemd-analyze verify, keep the output in OUT.
verify() {
	out=$1; shift
	(cd "$tmp/units" && systemd-analyze verify --man=no "$@") >"$out" 2>&1
}

# Can systemd-analyze run here at all? Try a unit that must be clean.
mkdir "$tmp/units" || fail "mkdir failed"
true_bin=$(command -v true)
case $true_bin in /*) ;; *) true_bin=/bin/true ;; esac
printf '[Unit]\nDescription=probe\n[Service]\nExecStart=%s\n' "$true_bin" \
	>"$tmp/units/iolat-probe.service"
if ! verify "$tmp/probe.out" ./iolat-probe.service ||
	grep -Ev "$harmless" "$tmp/probe.out" | grep -q .; then
	sed 's/^/# /' "$tmp/probe.out"
	skip "systemd-analyze verify cannot run in this environment"
fi
rm -f "$tmp/units/iolat-probe.service"

# The generated unit must have no @variable@ left.
if grep -n '@[a-z_]*@' "$service"; then
	fail "$service: unsubstituted @variable@"
fi
grep -q '^ExecStart=/.*/iolatd serve$' "$service" ||
	fail "$service: ExecStart is not 'ABSOLUTE/iolatd serve'"

# The units as installed, but starting the daemon of this build tree.
sed "s|^ExecStart=.*/iolatd serve|ExecStart=$abs_daemon serve|" "$service" \
	>"$tmp/units/iolatd.service" || fail "sed failed"
cp "$socket" "$tmp/units/iolatd.socket" || fail "cp failed"

status=0
verify "$tmp/verify.out" ./iolatd.service ./iolatd.socket || status=$?
echo "# systemd-analyze verify iolatd.service iolatd.socket: exit $status"
sed 's/^/# /' "$tmp/verify.out"
bad=$(grep -Ev "$harmless" "$tmp/verify.out")
test -z "$bad" || fail "systemd-analyze verify: unexpected output: $bad"
test "$status" -eq 0 || fail "systemd-analyze verify exited $status"

# sysusers.d and tmpfiles.d snippets, applied to an empty root.
root=$tmp/root
mkdir -p "$root/etc" "$root/run" || fail "mkdir failed"
abs_srcdir=$(cd "$top_srcdir" && pwd)
if command -v systemd-sysusers >/dev/null 2>&1; then
	systemd-sysusers --root="$root" "$abs_srcdir/deploy/sysusers.d/iolatd.conf" \
		>"$tmp/sysusers.out" 2>&1 ||
		{ cat "$tmp/sysusers.out"; fail "systemd-sysusers failed"; }
	grep -q '^iolat:' "$root/etc/passwd" ||
		fail "systemd-sysusers created no user iolat"
	grep -q '^iolat:' "$root/etc/group" ||
		fail "systemd-sysusers created no group iolat"
	# tmpfiles chowns to iolat: only root can.
	if command -v systemd-tmpfiles >/dev/null 2>&1 && test "$(id -u)" -eq 0; then
		systemd-tmpfiles --root="$root" --create \
			"$abs_srcdir/deploy/tmpfiles.d/iolatd.conf" >"$tmp/tmpfiles.out" 2>&1 ||
			{ cat "$tmp/tmpfiles.out"; fail "systemd-tmpfiles failed"; }
		test -d "$root/run/iolatd" || fail "systemd-tmpfiles made no /run/iolatd"
		mode=$(stat -c %a "$root/run/iolatd")
		test "$mode" = 750 || fail "/run/iolatd has mode $mode, not 750"
	else
		echo "# systemd-tmpfiles not checked (needs root)"
	fi
else
	echo "# systemd-sysusers not found: snippets not checked"
fi

echo "PASS: $name"
exit 0
