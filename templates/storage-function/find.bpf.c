/* find.bpf.c: a storage function to start from. It looks a key up in a linked
 * list of 512-byte blocks, one block read per hop, all inside one read_xrp call.
 *
 * The file: blocks of 512 bytes; a block of the list holds, little-endian,
 *   u64 next  @0   file offset of the next block, 0 at the end of the list
 *   u64 key   @8
 *   u64 value @16
 * The scratch page (the application's 4096 bytes, kept across hops):
 *   u64 wanted @0   the key to find (set by the application)
 *   u64 found  @8   1 when found
 *   u64 value  @16  its value
 *   u64 hops   @24  blocks visited
 *
 * Build: ./build.sh (clang -target bpf; see bpf/include/xrp.h for the context).
 */
#include "xrp.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct block {
	__u64 next;
	__u64 key;
	__u64 value;
};

struct query {
	__u64 wanted;
	__u64 found;
	__u64 value;
	__u64 hops;
};

SEC("xrp")
int find(struct bpf_xrp *ctx)
{
	struct block *b = (struct block *)ctx->data;
	struct query *q = (struct query *)ctx->scratch;

	q->hops += 1;
	if (b->key == q->wanted) {
		q->found = 1;
		q->value = b->value;
		ctx->done = 1;
		return 0;
	}
	if (b->next == 0 || (b->next & 511) != 0) {
		/* the end of the list (or a broken pointer): not found */
		ctx->done = 1;
		return 0;
	}
	ctx->next_addr[0] = b->next;
	ctx->size[0] = 512;
	return 0;
}
