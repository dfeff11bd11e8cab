#!/bin/sh
# Compiles find.bpf.c to find.bpf.o with the flags xrp-ts builds its own storage
# functions with. XRP_INCLUDE is the folder of xrp.h: bpf/include of the xrp-ts
# package (node_modules/xrp-ts/bpf/include once installed, or of a clone). OUT is the
# folder to write find.bpf.o to (default: this one).
set -eu
cd "$(dirname "$0")"
OUT=${OUT:-.}
XRP_INCLUDE=${XRP_INCLUDE:-$(node -e "console.log(require('path').join(require.resolve('xrp-ts/package.json'), '..', 'bpf', 'include'))" 2>/dev/null || echo ../../bpf/include)}
clang -O2 -g -target bpf -Wall -Werror -I "$XRP_INCLUDE" -I /usr/include/x86_64-linux-gnu -c find.bpf.c -o "$OUT/find.bpf.o"
echo "$OUT/find.bpf.o built (xrp.h from $XRP_INCLUDE)"
