#!/bin/sh
# The int8 core must build the way a kernel would need it: no float
# registers (-mgeneral-regs-only), no libc (-ffreestanding -nostdlib), and
# so no I/O and no allocation. Any reference to an outside symbol fails.
set -eu
: "${CC:=cc}" "${top_srcdir:=.}"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for src in $IOLAT_CORE_SOURCES; do
	obj="$out/$(basename "$src" .c).o"
	$CC -std=gnu11 -O2 -ffreestanding -fno-builtin -nostdlib -mgeneral-regs-only \
		-Wall -Wextra -Werror -c "$top_srcdir/$src" -o "$obj"
done
ld -r -o "$out/core.o" "$out"/*.o
undefined=$(nm -u "$out/core.o")
if [ -n "$undefined" ]; then
	echo "the freestanding core references outside symbols:" >&2
	echo "$undefined" >&2
	exit 1
fi
echo "freestanding core: $(echo $IOLAT_CORE_SOURCES | wc -w) files, no float, no outside symbols"
