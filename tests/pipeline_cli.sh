#!/bin/sh
# iolatd train, calibrate and compare end to end on a small synthetic
# replayed trace, then every documented error: exit status 1 with a line
# naming the file, or 2 for usage.
set -u
b=${top_builddir:-.}
iolatd="$b/daemon/iolatd"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
checks=0
fail() { echo "pipeline_cli: FAIL: $*" >&2; exit 1; }
ok() { checks=$((checks + 1)); }
# expect STATUS PATTERN CMD...: the command exits STATUS and its stderr
# matches PATTERN.
expect() {
	want=$1 pattern=$2
	shift 2
	"$@" > "$tmp/out" 2> "$tmp/err"
	got=$?
	[ "$got" -eq "$want" ] || fail "$*: exit $got, expected $want: $(cat "$tmp/err")"
	grep -q -- "$pattern" "$tmp/err" || fail "$*: stderr lacks '$pattern': $(cat "$tmp/err")"
	ok
}

# A replayed trace whose reads are slow after slow I/Os: learnable.
awk 'BEGIN {
	srand(7); lat = 100
	for (i = 0; i < 6000; i++) {
		slow = (lat > 1500) ? rand() < 0.8 : rand() < 0.1
		lat = slow ? 2000 + int(rand() * 8000) : 50 + int(rand() * 900)
		io = rand() < 0.8
		printf "%.3f,%d,%d,%d,%d,%.3f,%d\n", i * 0.5, lat, io, 4096 * (1 + int(rand() * 4)), i * 4096, i * 0.5 + 0.1, 4096
	}
}' > "$tmp/t.trace"

"$iolatd" train --epochs 5 --out "$tmp/f.h5" --calibration-out "$tmp/rep.h5" \
	--test-out "$tmp/test.h5" "$tmp/t.trace" 2> "$tmp/err" || fail "train: $(cat "$tmp/err")"
[ -s "$tmp/f.h5" ] && [ -s "$tmp/rep.h5" ] && [ -s "$tmp/test.h5" ] || fail "train wrote no files"
[ ! -s "$tmp/err" ] || fail "train not quiet off a terminal: $(cat "$tmp/err")"
ok
for mode in minmax moving_average percentile; do
	"$iolatd" calibrate --model "$tmp/f.h5" --data "$tmp/rep.h5" --mode "$mode" \
		--out "$tmp/q-$mode.h5" 2> "$tmp/err" || fail "calibrate $mode: $(cat "$tmp/err")"
	ok
done
"$iolatd" compare --float "$tmp/f.h5" --int8 "$tmp/q-minmax.h5" --data "$tmp/test.h5" \
	--json > "$tmp/c.json" || fail "compare --json"
python3 - "$tmp/c.json" <<'PY' || fail "compare --json lacks a DESIGN.md key"
import json, sys
d = json.load(open(sys.argv[1]))
for m in ("float", "int8"):
    for k in ("accuracy", "balanced_accuracy", "fpr", "fnr", "roc_auc",
              "ns_per_prediction", "model_bytes"):
        assert k in d[m], (m, k)
assert 0.95 <= d["agreement"] <= 1.0, d["agreement"]
assert d["float"]["balanced_accuracy"] > 0.7, d["float"]
assert len(d["layers"]) == 3
for l in d["layers"]:
    for k in ("max_abs_diff", "mean_abs_diff", "mse", "sqnr_db"):
        assert k in l, k
PY
ok
"$iolatd" compare --float "$tmp/f.h5" --int8 "$tmp/q-minmax.h5" --int8 "$tmp/q-percentile.h5" \
	--data "$tmp/test.h5" > "$tmp/table" || fail "compare table"
grep -q "balanced_accuracy" "$tmp/table" && grep -q "percentile" "$tmp/table" ||
	fail "compare table: $(cat "$tmp/table")"
ok
# predict takes the calibrated model
printf '1,4096,9000,8000,7000,455,512,585\n' | "$iolatd" predict -m "$tmp/q-minmax.h5" |
	grep -Eq '^[01],[0-9.]+$' || fail "predict with the calibrated model"
ok

# bias correction runs, and the model says so
"$iolatd" calibrate --model "$tmp/f.h5" --data "$tmp/rep.h5" --bias-correction \
	--out "$tmp/q-bias.h5" || fail "calibrate --bias-correction"
h5dump -a /calibration_mode "$tmp/q-bias.h5" | grep -q "percentile+bias-correction" ||
	fail "bias-corrected model's calibration_mode"
ok

# quantization-aware fine-tuning runs and its model calibrates and decides
"$iolatd" train --epochs 3 --qat-epochs 2 --qat-weight 10 --out "$tmp/fq.h5" \
	--calibration-out "$tmp/repq.h5" "$tmp/t.trace" 2> "$tmp/err" || fail "train --qat-epochs: $(cat "$tmp/err")"
"$iolatd" calibrate --model "$tmp/fq.h5" --data "$tmp/repq.h5" --out "$tmp/qq.h5" ||
	fail "calibrate after QAT"
"$iolatd" compare --float "$tmp/fq.h5" --int8 "$tmp/qq.h5" --data "$tmp/test.h5" --json |
	python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["agreement"] > 0.95, d' ||
	fail "QAT model disagrees"
ok

# train: bad input
expect 1 "none.trace" "$iolatd" train --out "$tmp/x.h5" "$tmp/none.trace"
 { head -n 3 "$tmp/t.trace"; printf '1.5,100,1,40'; } > "$tmp/cut.trace"
expect 1 "cut.trace:4:" "$iolatd" train --out "$tmp/x.h5" "$tmp/cut.trace"
printf '0.0,100,1,4096,0,0.1,4096\n0.5,abc,1,4096,0,0.6,4096\n' > "$tmp/junk.trace"
expect 1 "junk.trace:2:" "$iolatd" train --out "$tmp/x.h5" "$tmp/junk.trace"
printf '0.0 0 4096 4096 1\n1.0 0 8192 4096 1\n' > "$tmp/raw.trace"
expect 1 "raw trace" "$iolatd" train --out "$tmp/x.h5" "$tmp/raw.trace"
expect 2 "required" "$iolatd" train "$tmp/t.trace"
expect 2 "--hidden" "$iolatd" train --hidden 128,0 --out "$tmp/x.h5" "$tmp/t.trace"
expect 2 "--train-fraction" "$iolatd" train --train-fraction 1.5 --out "$tmp/x.h5" "$tmp/t.trace"
[ ! -e "$tmp/x.h5" ] || fail "a failed train left a model"

# calibrate: bad input
"$b/tests/mkdata" "$tmp/seven.h5" compact 10 7 || fail mkdata
"$b/tests/mkdata" "$tmp/nan.h5" compact 10 8 nan || fail mkdata
echo "not hdf5" > "$tmp/junk.h5"
expect 1 "7 features, the model 8" "$iolatd" calibrate --model "$tmp/f.h5" --data "$tmp/seven.h5" --out "$tmp/x.h5"
expect 1 "nan.h5" "$iolatd" calibrate --model "$tmp/f.h5" --data "$tmp/nan.h5" --out "$tmp/x.h5"
expect 1 "junk.h5" "$iolatd" calibrate --model "$tmp/f.h5" --data "$tmp/junk.h5" --out "$tmp/x.h5"
expect 1 "junk.h5" "$iolatd" calibrate --model "$tmp/junk.h5" --data "$tmp/rep.h5" --out "$tmp/x.h5"
expect 1 "an int8 model" "$iolatd" calibrate --model "$tmp/q-minmax.h5" --data "$tmp/rep.h5" --out "$tmp/x.h5"
expect 2 "--mode" "$iolatd" calibrate --model "$tmp/f.h5" --data "$tmp/rep.h5" --mode kl --out "$tmp/x.h5"
expect 2 "required" "$iolatd" calibrate --model "$tmp/f.h5" --out "$tmp/x.h5"
[ ! -e "$tmp/x.h5" ] || fail "a failed calibrate left a model"

# compare: bad input
expect 1 "no /labels" "$iolatd" compare --float "$tmp/f.h5" --int8 "$tmp/q-minmax.h5" --data "$tmp/rep.h5"
expect 1 "junk.h5" "$iolatd" compare --float "$tmp/f.h5" --int8 "$tmp/junk.h5" --data "$tmp/test.h5"
expect 2 "required" "$iolatd" compare --float "$tmp/f.h5" --data "$tmp/test.h5"

echo "pipeline_cli: $checks checks passed"
