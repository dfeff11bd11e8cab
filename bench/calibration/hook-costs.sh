#!/usr/bin/env bash
# Measures the kernel JIT's cost of running eBPF on this host (root, clang, bpftool):
# an empty program (dispatch) and a loop at 200..800 iterations (per instruction).
# The figures behind dispatchNs and insnPs in docs/calibration.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"; rm -f /sys/fs/bpf/xrp_cal_*' EXIT
head -c 4096 /dev/zero > "$work/pkt"
for iter in 0 200 400 800; do
  clang -O2 -target bpf -DITER=$iter -I/usr/include/x86_64-linux-gnu -c "$here/hook-loop.bpf.c" -o "$work/loop$iter.o"
  bpftool prog load "$work/loop$iter.o" /sys/fs/bpf/xrp_cal_$iter type xdp
done
for round in 1 2 3; do
  for iter in 0 200 400 800; do
    printf 'iterations %4d: ' "$iter"
    bpftool prog run pinned /sys/fs/bpf/xrp_cal_$iter data_in "$work/pkt" repeat 2000000 | grep -o 'duration.*'
  done
done
echo "per instruction: (duration at 800 - duration at 0) / 800 / 16..19 instructions per iteration (llvm-objdump -d)"
