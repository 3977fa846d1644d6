#!/bin/sh
# The offline pipeline on each shared replayed trace (first half of the
# reads trains, second half tests), with every lever side by side:
# training with and without pseudo-quantization noise, and with
# quantization-aware fine-tuning (a float/int8 consistency loss); calibration by
# minmax, moving_average and percentile; one input scale per feature or
# one for all; bias correction. Prints compare's tables; never fails on a figure.
set -u
b=${top_builddir:-.}
iolatd="$b/daemon/iolatd"
data=${IOLAT_TRACES_DIR:-${top_srcdir:-.}/../shared/data/traces/replayed}
if [ ! -d "$data" ]; then
	echo "pipeline_report: $data not found: skipped (set IOLAT_TRACES_DIR)"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for trace in "$data"/*.trace; do
	name=$(basename "$trace" .trace)
	echo "== $name"
	# plain training (the post-training-quantization baseline), with input
	# noise, and the default: consistency fine-tuning (10 epochs, weight 30)
	for training in "--qat-epochs 0" "--qat-epochs 0 --quant-noise on" \
		"--qat-epochs 10 --qat-weight 30"; do
		# shellcheck disable=SC2086
		"$iolatd" train --seed 1 $training --out "$tmp/f.h5" \
			--calibration-out "$tmp/rep.h5" --test-out "$tmp/test.h5" "$trace" || exit 1
		for mode in minmax moving_average percentile; do
			"$iolatd" calibrate --model "$tmp/f.h5" --data "$tmp/rep.h5" \
				--mode "$mode" --out "$tmp/q-$mode.h5" || exit 1
		done
		"$iolatd" calibrate --model "$tmp/f.h5" --data "$tmp/rep.h5" \
			--per-tensor-input --out "$tmp/q-tensor.h5" || exit 1
		"$iolatd" calibrate --model "$tmp/f.h5" --data "$tmp/rep.h5" \
			--bias-correction --out "$tmp/q-bias.h5" || exit 1
		echo "-- training with $training"
		"$iolatd" compare --float "$tmp/f.h5" --data "$tmp/test.h5" \
			--int8 "$tmp/q-minmax.h5" --int8 "$tmp/q-moving_average.h5" \
			--int8 "$tmp/q-percentile.h5" --int8 "$tmp/q-tensor.h5" \
			--int8 "$tmp/q-bias.h5" |
			sed -e '/^layer/,/^$/d' -e "s|$tmp/||"
	done
done
