/* walk.bpf.c: a general walker for testing the XRP hook (variable sizes, fan-out, errors).
 *
 * Every block the driver reads starts with a node header (little-endian):
 *
 *   op        u32 @0    0 END (done), 1 NEXT (follow addr[0]/size[0]),
 *                       2 ERROR (return n), 3 FANOUT (read addr[0..n-1])
 *   n         u32 @4    fan-out count (1..16) or the ERROR return value
 *   value     u64 @8    added to scratch sum
 *   self_size u64 @16   this block's size in bytes: the word at self_size - 8
 *                       is added to scratch tail_sum (proves the whole block
 *                       was read, for variable sizes)
 *   addr[16]  u64 @24   next file offsets
 *   size[16]  u64 @152  their sizes (size[0] == 0 means 512)
 *
 * Scratch: visits u64 @0, sum u64 @8, tail_sum u64 @16. The results do not
 * depend on the order blocks arrive in, so parallel fan-out, serial fan-out
 * and a user-space walk must all agree.
 */
#include "xrp.h"

#define OP_END 0
#define OP_NEXT 1
#define OP_ERROR 2
#define OP_FANOUT 3

/* The body, shared with test/kernel/xrp/kernel/verify.bpf.c (the real Linux verifier). */
static __always_inline int walk_body(struct bpf_xrp *ctx)
{
	__u64 *s = (__u64 *)ctx->scratch;
	const char *d = ctx->data;
	__u32 op = *(const __u32 *)(d + 0);
	__u32 n = *(const __u32 *)(d + 4);
	__u64 self = *(const __u64 *)(d + 16);

	s[0] += 1;
	s[1] += *(const __u64 *)(d + 8);
	s[2] += *(const __u64 *)(d + ((self - 8) & 0xff8));

	if (op == OP_END) {
		ctx->done = 1;
		return 0;
	}
	if (op == OP_ERROR)
		return n;
	if (op == OP_NEXT)
		n = 1;
	if (n > XRP_MAX_FANOUT)
		n = XRP_MAX_FANOUT;
	for (__u32 i = 0; i < n; i++) {
		ctx->next_addr[i & 15] = *(const __u64 *)(d + ((24 + 8 * i) & 0xff8));
		ctx->size[i & 15] = *(const __u64 *)(d + ((152 + 8 * i) & 0xff8));
	}
	return 0;
}

#ifndef WALK_NO_XRP_ENTRY
char LICENSE[] SEC("license") = "GPL";

SEC("xrp")
int walk(struct bpf_xrp *ctx)
{
	return walk_body(ctx);
}
#endif
