#!/bin/sh
# Regenerate the syscall tables (name number, one per line) from the kernel's
# uapi headers (Debian: linux-libc-dev). The x32 numbers keep __X32_SYSCALL_BIT.
set -eu
dir=${1:-/usr/include/x86_64-linux-gnu/asm}
out=$(dirname "$0")
for abi in 64:x86_64 32:x86 x32:x32; do
  src=${abi%%:*}; name=${abi#*:}
  sed -n 's/^#define __NR_\([a-z0-9_]*\) (__X32_SYSCALL_BIT + \([0-9]*\))$/\1 \2/p; s/^#define __NR_\([a-z0-9_]*\) \([0-9]*\)$/\1 \2/p' \
    "$dir/unistd_$src.h" |
    awk -v x32="$name" '{ n = $2; if (x32 == "x32") n += 1073741824; print $1, n }' > "$out/$name.txt"
done
