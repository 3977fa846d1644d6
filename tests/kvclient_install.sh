#!/bin/sh
# libkvclient as an application gets it. Installs, with DESTDIR into a
# temporary directory, what 'make install' installs for it (the library,
# kvclient.h, kvclient.pc, the manuals and the default model), then checks:
#  - the installed files are there;
#  - the shared library exports the kv_ functions of kvclient.h and nothing
#    else;
#  - the example program of README.md is examples/kvclient_example.c and
#    the one of kvclient(3), character for character;
#  - it compiles with the flags of 'pkg-config --cflags --libs kvclient'
#    (the .pc file relocated into the temporary directory), links against
#    the installed libkvclient.so, and runs: three replicas in a temporary
#    directory, a put, a get, the counters;
#  - it links against libkvclient.a (with 'pkg-config --static --libs') and
#    runs the same.
# Nothing is written outside the temporary directory. Skips (77) without
# pkg-config or nm.
set -u

top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
name=kvclient_install

skip() { echo "SKIP: $name: $*"; exit 77; }
fail() { echo "FAIL: $name: $*"; exit 1; }

command -v pkg-config >/dev/null 2>&1 || skip "pkg-config not found (Debian package pkgconf)"
command -v nm >/dev/null 2>&1 || skip "nm not found (Debian package binutils)"
CC=${CC:-cc}
# The build's own flags: a library built with sanitizers needs them in the
# program that links it too (the runtime must come first).
sanitize_flags=
for f in ${CFLAGS:-}; do
	case $f in -fsanitize=*) sanitize_flags="$sanitize_flags $f" ;; esac
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/iolat-kvinstall.XXXXXX") || fail "mktemp failed"
case $tmp in /*) ;; *) tmp=$(pwd)/$tmp ;; esac
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
dest=$tmp/dest

# --- The example program: README.md and kvclient(3) show the file's text.
example=$top_srcdir/examples/kvclient_example.c
test -f "$example" || fail "$example not found"
awk '/^## libkvclient/ { s = 1 }
     s && /^```c$/ { p = 1; next }
     p && /^```$/ { exit }
     p { print }' "$top_srcdir/README.md" >"$tmp/example.c"
test -s "$tmp/example.c" || fail "README.md: no \`\`\`c block in the libkvclient section"
if ! cmp -s "$tmp/example.c" "$example"; then
	diff -u "$example" "$tmp/example.c" | sed 's/^/# /'
	fail "README.md's example differs from examples/kvclient_example.c"
fi
# The page's first literal display in EXAMPLES, with mdoc's escapes undone.
awk '/^\.Sh EXAMPLES/ { s = 1 }
     s && /^\.Bd -literal/ { p = 1; next }
     p && /^\.Ed/ { exit }
     p { print }' "$top_srcdir/man/kvclient.3" |
	sed -e 's/^\\&//' -e 's/\\e/\\/g' >"$tmp/example_man.c"
if ! cmp -s "$tmp/example_man.c" "$example"; then
	diff -u "$example" "$tmp/example_man.c" | sed 's/^/# /'
	fail "kvclient(3)'s example differs from examples/kvclient_example.c"
fi
echo "# README.md and kvclient(3) show examples/kvclient_example.c"

# --- Install, as 'make install' would, into $dest. The make that runs
# this test must not hand its jobserver or flags to this one.
(
	unset MAKEFLAGS MFLAGS MAKELEVEL
	cd "$top_builddir" &&
	${MAKE:-make} install-exec install-includeHEADERS \
		install-pkgconfigDATA install-man install-dist_pkgdataDATA DESTDIR="$dest"
) >"$tmp/install.log" 2>&1 || {
	sed 's/^/# /' "$tmp/install.log"
	fail "make install DESTDIR=$dest failed"
}

# find1 NAME: sets found to the one installed file called NAME.
find1() {
	found=$(find "$dest" -name "$1" \( -type f -o -type l \))
	test -n "$found" || fail "make install installed no $1"
	test "$(printf '%s\n' "$found" | wc -l)" -eq 1 || fail "more than one $1: $found"
}
find1 libkvclient.so; so=$found
find1 libkvclient.so.0; so0=$found
find1 libkvclient.a; ar=$found
find1 kvclient.h; header=$found
find1 kvclient.pc; pc=$found
find1 kvclient.3; man=$found
find1 iolat-default-int8.h5; model=$found
for f in "$so" "$so0" "$ar" "$header" "$pc" "$man" "$model"; do
	echo "# installed ${f#"$dest"}"
done
case $man in */man3/kvclient.3) ;; *) fail "kvclient.3 installed as ${man#"$dest"}, not in man3" ;; esac
if grep -n '@[a-zA-Z_]*@' "$pc"; then
	fail "$pc: unsubstituted @variable@"
fi

# --- Exports: exactly the functions kvclient.h declares.
sed -n 's/.*\(kv_[a-z_]*\)(.*/\1/p' "$header" | sort -u >"$tmp/declared"
nm -D --defined-only "$so" | awk 'NF == 3 && $2 ~ /^[TWDBRVi]$/ { print $3 }' |
	sort -u >"$tmp/exported"
test -s "$tmp/declared" || fail "no kv_ function found in $header"
extra=$(comm -13 "$tmp/declared" "$tmp/exported")
missing=$(comm -23 "$tmp/declared" "$tmp/exported")
test -z "$extra" || fail "libkvclient.so exports more than kvclient.h declares:" $extra
test -z "$missing" || fail "libkvclient.so does not export:" $missing
echo "# libkvclient.so exports the $(wc -l <"$tmp/exported") functions of kvclient.h, nothing else"
nm -g --defined-only "$ar" | awk 'NF == 3 { print $3 }' | sort -u >"$tmp/exported_a"
extra=$(comm -13 "$tmp/declared" "$tmp/exported_a")
missing=$(comm -23 "$tmp/declared" "$tmp/exported_a")
test -z "$extra" || fail "libkvclient.a defines more global symbols than kvclient.h declares:" $extra
test -z "$missing" || fail "libkvclient.a does not define:" $missing
echo "# libkvclient.a defines the same $(wc -l <"$tmp/exported_a") global symbols, nothing else"

# --- pkg-config, pointed at the temporary directory. kvclient.pc names the
# real prefix; its libdir and includedir are redefined under $dest. (This
# redefines them in rocksdb.pc too, harmlessly: -lrocksdb is found on the
# default path.)
libdir=$(pkg-config --variable=libdir "$pc") || fail "pkg-config cannot read $pc"
includedir=$(pkg-config --variable=includedir "$pc") || fail "pkg-config cannot read $pc"
test "$dest$libdir" = "$(dirname "$so")" || fail "libdir $libdir is not where the library went"
test "$dest$includedir" = "$(dirname "$header")" || fail "includedir $includedir is not where kvclient.h went"
PKG_CONFIG_PATH=$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
export PKG_CONFIG_PATH
pkgconf() {
	pkg-config --define-variable=libdir="$dest$libdir" \
		--define-variable=includedir="$dest$includedir" "$@"
}
cflags=$(pkgconf --cflags kvclient) || fail "pkg-config --cflags kvclient failed"
libs=$(pkgconf --libs kvclient) || fail "pkg-config --libs kvclient failed"
static_libs=$(pkgconf --static --libs kvclient) || fail "pkg-config --static --libs kvclient failed"
echo "# pkg-config --cflags --libs kvclient: $cflags $libs"

# run_example PROGRAM: runs it on three replicas in a fresh directory, with
# the installed default model; checks its output.
run_example() {
	data=$tmp/data.$(basename "$1")
	status=0
	LD_LIBRARY_PATH=$dest$libdir "$1" "$data" "$model" >"$tmp/out" 2>"$tmp/err" || status=$?
	if test "$status" -ne 0; then
		sed 's/^/# /' "$tmp/out" "$tmp/err"
		fail "$1 exited with status $status"
	fi
	test ! -s "$tmp/err" || { sed 's/^/# /' "$tmp/err"; fail "$1 wrote on stderr"; }
	grep -qx 'hello = world' "$tmp/out" || { sed 's/^/# /' "$tmp/out"; fail "$1: no 'hello = world'"; }
	grep -q '^{"policy": "predict", "reads": 1,' "$tmp/out" ||
		{ sed 's/^/# /' "$tmp/out"; fail "$1: no statistics"; }
	if command -v python3 >/dev/null 2>&1; then
		sed -n '2p' "$tmp/out" | python3 -c 'import json, sys
s = json.load(sys.stdin)
assert [r["puts"] for r in s["replicas"]] == [1, 1, 1], s
assert all(r["state"] == "ok" for r in s["replicas"]), s' ||
			fail "$1: the statistics are not the JSON expected"
	fi
	for r in 0 1 2; do
		test -f "$data/replica$r/CURRENT" || fail "$1 made no replica $r in $data"
	done
}

# --- Shared: the README's command, with warnings on.
$CC -Wall -Wextra -Werror $sanitize_flags -o "$tmp/example" "$tmp/example.c" $cflags $libs \
	>"$tmp/cc.log" 2>&1 || { sed 's/^/# /' "$tmp/cc.log"; fail "cc example.c \$(pkg-config --cflags --libs kvclient) failed"; }
LD_LIBRARY_PATH=$dest$libdir ldd "$tmp/example" 2>/dev/null | grep -qF "=> $dest$libdir/libkvclient.so.0 " ||
	fail "the example does not load the installed libkvclient.so.0"
run_example "$tmp/example"
echo "# shared: compiled, linked against ${so0#"$dest"} and ran: hello = world"

# --- Static libkvclient.a: its path in place of -lkvclient (the linker
# would pick the .so), the other libraries from pkg-config --static.
static_rest=
for w in $static_libs; do
	test "x$w" = x-lkvclient || static_rest="$static_rest $w"
done
$CC -Wall -Wextra -Werror $sanitize_flags -o "$tmp/example_static" "$tmp/example.c" $cflags "$ar" $static_rest \
	>"$tmp/cc.log" 2>&1 || { sed 's/^/# /' "$tmp/cc.log"; fail "linking against libkvclient.a failed"; }
if ldd "$tmp/example_static" 2>/dev/null | grep -q libkvclient; then
	fail "the static example still loads libkvclient.so"
fi
run_example "$tmp/example_static"
echo "# static: linked against ${ar#"$dest"} and$static_rest, and ran"

echo "PASS: $name"
exit 0
