/* xrp.h: the header of XRP storage functions (xrp-ts).
 *
 * A storage function is an eBPF program in section SEC("xrp"). The NVMe
 * driver's completion handler runs it on every block read for a read_xrp
 * request, with r1 = struct bpf_xrp *ctx.
 *
 * Build (fixed flags, see scripts/build-bpf.mjs):
 *   clang -O2 -g -target bpf -I bpf/include -I/usr/include/x86_64-linux-gnu -c f.bpf.c -o f.bpf.o
 *
 * Alone, this header declares what a storage function needs (SEC, the BTF map
 * macros, the helpers). Beside libbpf, include <linux/bpf.h> and
 * <bpf/bpf_helpers.h> first, then this header: it then uses libbpf's
 * definitions (see the end of this file).
 *
 * ---------------------------------------------------------------------------
 * The context (x86-64 layout of the original XRP, 280 bytes)
 *
 *   done           s32 (+4 pad)   @0    set non-zero to end the chain
 *   next_addr[16]  u64            @8    file offsets of the next reads
 *   size[16]       u64            @136  their sizes in bytes
 *   data           char *         @264  the block just read (4096-byte page,
 *                                       the block at offset 0)
 *   scratch        char *         @272  the application's 4096-byte page
 *
 * data and scratch are typed by the verifier as 4096-byte memory: index them
 * with offsets masked by `& 0xfff` (XRP_PAGE_MASK). A non-zero return value
 * ends the chain with a program-error status; `done != 0` ends it normally.
 *
 * ---------------------------------------------------------------------------
 * The variable-size and fan-out ABI extension (backwards compatible)
 *
 * The original reads only next_addr[0], always 512 bytes. Programs written for
 * it set next_addr[0] (and possibly size[0]) and run unchanged, because:
 *
 *  1. Slot 0 is always the primary read: when the program returns 0 with
 *     done == 0, next_addr[0] is read next.
 *  2. size[0] == 0 means 512 bytes (the original's fixed size). Any other
 *     size[i] must be 512..4096 in steps of 512 (XRP_SIZE_MIN/MAX/STEP);
 *     anything else ends the request with the invalid-size status.
 *  3. Fan-out: slot i in 1..15 is an extra read iff size[i] != 0. The driver
 *     clears size[1..15] to 0 before EVERY invocation, so a program that never
 *     writes them (every original program) never fans out, and a program fans
 *     out only with the slots it set during this invocation.
 *  4. All reads of one invocation are submitted at once (spread over the
 *     device's queues); the program then runs once per arriving block, each
 *     time with data pointing at that block and the same scratch page.
 *     The request completes when every branch has ended.
 * ---------------------------------------------------------------------------
 */
#ifndef XRP_H
#define XRP_H

/* The kernel's UAPI: map types (BPF_MAP_TYPE_*), update flags (BPF_ANY ...) and
 * helper ids come from here, as in any libbpf-style program. */
#include <linux/types.h>
#include <linux/bpf.h>

#define XRP_MAX_FANOUT 16
#define XRP_PAGE_BYTES 4096
#define XRP_PAGE_MASK 0xfff
#define XRP_SIZE_DEFAULT 512 /* size[0] == 0 */
#define XRP_SIZE_MIN 512
#define XRP_SIZE_MAX 4096
#define XRP_SIZE_STEP 512

struct bpf_xrp {
	__s32 done;
	__s32 _pad;
	__u64 next_addr[XRP_MAX_FANOUT];
	__u64 size[XRP_MAX_FANOUT];
	char *data;
	char *scratch;
};

_Static_assert(__builtin_offsetof(struct bpf_xrp, done) == 0, "bpf_xrp.done @0");
_Static_assert(__builtin_offsetof(struct bpf_xrp, next_addr) == 8, "bpf_xrp.next_addr @8");
_Static_assert(__builtin_offsetof(struct bpf_xrp, size) == 136, "bpf_xrp.size @136");
_Static_assert(__builtin_offsetof(struct bpf_xrp, data) == 264, "bpf_xrp.data @264");
_Static_assert(__builtin_offsetof(struct bpf_xrp, scratch) == 272, "bpf_xrp.scratch @272");
_Static_assert(sizeof(struct bpf_xrp) == 280, "struct bpf_xrp is 280 bytes");

/* ---------------------------------------------------------------------------
 * SEC, the BTF map macros and the helpers. With libbpf, include
 * <bpf/bpf_helpers.h> BEFORE this header: its definitions are used and none of
 * the following is declared. Without libbpf, this is the subset of
 * bpf_helpers.h that storage functions use, with the same names and meanings. */
#ifndef __BPF_HELPERS__

#ifndef SEC
#define SEC(name) __attribute__((section(name), used))
#endif

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* BTF-style map definitions, as in libbpf's bpf_helpers.h. */
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]

/* Helpers (ids as in Linux's enum bpf_func_id). */
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;
static long (*bpf_map_delete_elem)(void *map, const void *key) = (void *)3;
static __u64 (*bpf_ktime_get_ns)(void) = (void *)5;
static long (*bpf_trace_printk)(const char *fmt, __u32 fmt_size, ...) = (void *)6;
static __u32 (*bpf_get_prandom_u32)(void) = (void *)7;

#define bpf_printk(fmt, ...)                                                   \
	({                                                                     \
		static const char ____fmt[] = fmt;                             \
		bpf_trace_printk(____fmt, sizeof(____fmt), ##__VA_ARGS__);     \
	})

#endif /* __BPF_HELPERS__ */

#endif /* XRP_H */
