/* linux/bpf.h for the original authors' BPF-KV programs (xrp-bpf/get.c and
 * range.c of github.com/xrp-project/BPF-KV), compiled unmodified against this
 * directory by scripts/build-originals.mjs.
 *
 * Their Makefile builds against a patched kernel whose UAPI linux/bpf.h also
 * declares struct bpf_xrp. Here: the host's UAPI header (map types, helper
 * ids), then struct bpf_xrp from bpf/include/xrp.h, the one definition of the
 * context layout. */
#ifndef XRP_COMPAT_ORIGINAL_LINUX_BPF_H
#define XRP_COMPAT_ORIGINAL_LINUX_BPF_H

#include_next <linux/bpf.h>
#include "xrp.h"

#endif
