/* bpf/bpf.h for the original authors' BPF-KV command-line tool (simplekv:
 * create.c, get.c, range.c, helpers.c of github.com/xrp-project/BPF-KV),
 * compiled unmodified by scripts/build-originals.ts to check that its `create`
 * writes the bytes ours does.
 *
 * Their helpers.c loads programs with libbpf 0.x's
 * bpf_prog_load(file, type, &obj, &prog_fd) and the patched kernel's
 * BPF_PROG_TYPE_XRP; libbpf 1.x removed that call and the host's kernel has no
 * XRP program type. This header declares that call, and no-xrp.c answers it
 * with ENOSYS: this tool's XRP paths cannot run on a kernel without XRP, and
 * `create` (what is used here) never loads a program. */
#ifndef XRP_COMPAT_ORIGINAL_USER_BPF_H
#define XRP_COMPAT_ORIGINAL_USER_BPF_H

#include <linux/bpf.h>

/* The patched kernel's program type; any value: no host kernel knows it. */
#define BPF_PROG_TYPE_XRP ((enum bpf_prog_type)-1)

struct bpf_object;
int bpf_prog_load(const char *file, enum bpf_prog_type type, struct bpf_object **pobj, int *prog_fd);

#endif
