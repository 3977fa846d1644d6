#!/bin/sh
# iolatd predict, end to end: a real model file, real CSV, exit codes and
# messages as iolatd(8) documents them.
set -u
b=${top_builddir:-.}
iolatd="$b/daemon/iolatd"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
checks=0
fail() { echo "predict_cli: FAIL: $*" >&2; exit 1; }
ok() { checks=$((checks + 1)); }

"$b/tests/mkmodel" "$tmp/f.h5" "$tmp/q.h5" "$tmp/x.csv" 2000 || fail "mkmodel"

# One "decision,probability" line per vector, for both kinds.
for kind in f q; do
	"$iolatd" predict --model "$tmp/$kind.h5" "$tmp/x.csv" > "$tmp/$kind.out" ||
		fail "predict $kind exited $?"
	[ "$(wc -l < "$tmp/$kind.out")" -eq 2000 ] || fail "$kind: not 2000 lines"
	awk -F, 'NF != 2 || ($1 != 0 && $1 != 1) || $2 < 0 || $2 > 1 { exit 1 }' \
		"$tmp/$kind.out" || fail "$kind: malformed output line"
	ok
done

# Float decisions are exactly probability > 0.5.
awk -F, '($1 == 1) != ($2 > 0.5) { exit 1 }' "$tmp/f.out" ||
	fail "float decision disagrees with its probability"
ok

# The int8 model decides like the float one (the unit suite shows 99.9%
# on 100,000 vectors; 2,000 here leave room for 2 flips).
diff=$(paste -d, "$tmp/f.out" "$tmp/q.out" | awk -F, '$1 != $3' | wc -l)
[ "$diff" -le 2 ] || fail "int8 and float differ on $diff of 2000"
ok

# Standard input gives the same answers as a file.
"$iolatd" predict -m "$tmp/q.h5" < "$tmp/x.csv" | cmp -s - "$tmp/q.out" ||
	fail "stdin and file differ"
ok

# A malformed line: its number on stderr, the lines before it answered,
# exit 1.
{ head -n 2 "$tmp/x.csv"; echo "1,2,3"; head -n 1 "$tmp/x.csv"; } > "$tmp/bad.csv"
"$iolatd" predict -m "$tmp/q.h5" "$tmp/bad.csv" > "$tmp/bad.out" 2> "$tmp/bad.err"
[ $? -eq 1 ] || fail "malformed line: exit status not 1"
grep -q "bad.csv:3: 3 fields, expected 8" "$tmp/bad.err" || fail "malformed line: $(cat "$tmp/bad.err")"
[ "$(wc -l < "$tmp/bad.out")" -eq 2 ] || fail "malformed line: lines before it lost"
ok

# A missing or broken model file: exit 1, named.
"$iolatd" predict -m "$tmp/none.h5" < "$tmp/x.csv" > /dev/null 2> "$tmp/err"
[ $? -eq 1 ] || fail "missing model: exit status not 1"
grep -q "none.h5" "$tmp/err" || fail "missing model not named: $(cat "$tmp/err")"
echo "not hdf5" > "$tmp/junk.h5"
"$iolatd" predict -m "$tmp/junk.h5" < "$tmp/x.csv" > /dev/null 2> "$tmp/err"
[ $? -eq 1 ] || fail "junk model: exit status not 1"
grep -q "junk.h5" "$tmp/err" || fail "junk model not named"
ok

# Usage errors exit 2; --help exits 0 and documents --model.
"$iolatd" predict --bogus > /dev/null 2>&1
[ $? -eq 2 ] || fail "unknown option: exit status not 2"
"$iolatd" predict -m "$tmp/q.h5" a.csv b.csv > /dev/null 2>&1
[ $? -eq 2 ] || fail "two files: exit status not 2"
"$iolatd" frobnicate > /dev/null 2>&1
[ $? -eq 2 ] || fail "unknown command: exit status not 2"
"$iolatd" predict --help | grep -q -- "--model FILE" || fail "--help"
ok

# The shipped default model answers the man page's example as printed.
printf '1,4096,110,95,120,37236,43115,34133\n1,4096,9000,8000,7000,455,512,585\n' |
	"$iolatd" predict -m "${top_srcdir:-.}/models/iolat-default-int8.h5" > "$tmp/d.out" ||
	fail "default model"
printf '0,0.203125\n1,0.988281\n' | cmp -s - "$tmp/d.out" || fail "default model: $(cat "$tmp/d.out")"
ok

echo "predict_cli: $checks checks passed"
