#!/bin/sh
# Builds the libFuzzer target of the frame codec (fuzz_proto.c) with clang
# and runs it for FUZZ_SECONDS (default 30) on a copy of the seed corpus.
# Exits 1 on any crash or invariant failure, keeping the reproducer and
# printing its path; prints a SKIP line and exits 0 when clang or its
# fuzzer runtime is missing. Not part of 'make check': CI calls it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
seconds=${FUZZ_SECONDS:-30}
cc=${CLANG:-clang}
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"

if ! command -v "$cc" >/dev/null 2>&1; then
	echo "SKIP: fuzz_proto: $cc not found"
	exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/iolat-fuzz.XXXXXX")
printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
	'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
	'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
	>"$work/probe.c"
# shellcheck disable=SC2086
if ! "$cc" $flags "$work/probe.c" -o "$work/probe" >/dev/null 2>&1; then
	echo "SKIP: fuzz_proto: $cc has no libFuzzer runtime (-fsanitize=fuzzer)"
	rm -rf "$work"
	exit 0
fi
# shellcheck disable=SC2086
"$cc" $flags -std=gnu11 -Wall -Wextra -Werror -I"$top/proto" \
	"$top/proto/proto.c" "$here/fuzz_proto.c" -o "$work/fuzz_proto"
cp -R "$here/corpus" "$work/corpus"
echo "fuzz_proto: ${seconds}s on $(find "$work/corpus" -type f | wc -l) seeds"
if ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
	"$work/fuzz_proto" -max_total_time="$seconds" -print_final_stats=1 \
	-artifact_prefix="$work/" "$work/corpus" >"$work/log" 2>&1; then
	grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|Done)' "$work/log" || true
	echo "fuzz_proto: PASS"
	rm -rf "$work"
	exit 0
fi
tail -n 40 "$work/log"
echo "fuzz_proto: FAIL (log and reproducer in $work)"
exit 1
