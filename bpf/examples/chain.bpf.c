/* chain.bpf.c: follow a chain of "next" pointers through a file.
 *
 * Each 512-byte block starts with a little-endian u64: the file offset of the
 * next block, or 0 at the end of the chain. scratch[0..8) counts the hops and
 * scratch[8..16) receives the offset of the last block.
 */
#include "xrp.h"

char LICENSE[] SEC("license") = "GPL";

SEC("xrp")
int chain(struct bpf_xrp *ctx)
{
	__u64 next = *(__u64 *)(ctx->data + 0);
	__u64 *hops = (__u64 *)(ctx->scratch + 0);
	__u64 *last = (__u64 *)(ctx->scratch + 8);

	*hops += 1;
	if (next == 0) {
		ctx->done = 1;
		return 0;
	}
	*last = next;
	ctx->next_addr[0] = next;
	ctx->size[0] = 512;
	return 0;
}
