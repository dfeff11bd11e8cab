/* array_chain.bpf.c: the array chain ("easyArray"), one hop per block read.
 * Layout and scratch: array_chain.h. Each invocation reads the element at
 * q->index from the 512-byte block just read, folds it into the state, and
 * resubmits for the block of the next index until hops_total hops are made.
 */
#include "array_chain.h"

#ifndef AC_NO_XRP_ENTRY
char LICENSE[] SEC("license") = "GPL";
#endif

/* The body, also used by test/structures/kernel/verify.bpf.c to run the real Linux verifier on it. */
static __always_inline int array_chain_body(struct bpf_xrp *ctx)
{
	struct ArrayChainQuery *q = (struct ArrayChainQuery *)ctx->scratch;
	__u64 n = q->n_elems;

	if (n == 0 || q->index >= n || q->hops_done >= q->hops_total) {
		ctx->done = 1;
		return AC_ERR_BAD_QUERY;
	}
	/* The block read is the one holding q->index: its element sits at (8 * index) mod 512. */
	__u64 within = (q->index * AC_ELEM_BYTES) & (AC_BLOCK_BYTES - 1);
	__u64 value = *(__u64 *)(ctx->data + within);

	q->hops_done += 1;
	q->sum += value;
	q->last_value = value;
	q->index = (value * 2) % n;
	if (q->hops_done >= q->hops_total) {
		ctx->done = 1;
		return 0;
	}
	ctx->next_addr[0] = (q->index * AC_ELEM_BYTES) & ~(__u64)(AC_BLOCK_BYTES - 1);
	ctx->size[0] = AC_BLOCK_BYTES;
	return 0;
}

#ifndef AC_NO_XRP_ENTRY
SEC("xrp")
int array_chain(struct bpf_xrp *ctx)
{
	return array_chain_body(ctx);
}
#endif
