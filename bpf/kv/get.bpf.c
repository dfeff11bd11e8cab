/* get.bpf.c: BPF-KV point lookups, up to 32 keys per call (the original's
 * scatter-gather query, xrp-bpf/get.c of the BPF-KV artifact). Scratch:
 * struct ScatterGatherQuery (kv.h).
 *
 * Per block: (1) a value block after a leaf: copy the value, go to the next
 * key; (2) a leaf: check the key exists, then read the value's block; (3) an
 * internal node: descend by nxt_node. Each key costs L + 1 reads when found.
 */
#include "kv.h"

#ifndef KV_NO_XRP_ENTRY
char LICENSE[] SEC("license") = "GPL";
#endif

#define SG_MASK (SG_KEYS - 1)

static __always_inline int key_exists(key__t key, const struct Node *node)
{
	for (int i = 0; i < NODE_CAPACITY; ++i)
		if (node->key[i] == key)
			return 1;
	return 0;
}

static __always_inline void next_key(struct bpf_xrp *ctx, struct ScatterGatherQuery *q)
{
	q->current_index += 1;
	q->state_flags = 0;
	if (q->current_index >= q->n_keys || q->current_index >= SG_KEYS) {
		ctx->done = 1;
		ctx->next_addr[0] = 0;
		ctx->size[0] = 0;
	} else {
		ctx->next_addr[0] = q->root_pointer;
		ctx->size[0] = BLK_SIZE;
	}
}

/* The body, also used by test/kv/kernel/verify.bpf.c to run the real Linux verifier on it. */
static __always_inline int kv_get_body(struct bpf_xrp *ctx)
{
	struct ScatterGatherQuery *q = (struct ScatterGatherQuery *)ctx->scratch;
	const struct Node *node = (const struct Node *)ctx->data;
	int idx = q->current_index & SG_MASK;

	/* No keys (or a finished query handed back): nothing to do. */
	if (q->n_keys <= 0 || q->current_index < 0 || q->current_index >= q->n_keys || q->current_index >= SG_KEYS) {
		ctx->done = 1;
		return 0;
	}

	/* Case 1: the block holding the value found at the leaf. */
	if (q->state_flags & AT_VALUE) {
		__u64 offset = q->value_ptr & (BLK_SIZE - 1);
		struct MaybeValue *mv = &q->values[idx];
		mv->found = 1;
		__builtin_memcpy(mv->value, ctx->data + offset, VAL_SIZE);
		next_key(ctx, q);
		return 0;
	}

	/* Case 2: a leaf: the key must be there; then read its value's block. */
	if (node->type == LEAF) {
		key__t key = q->keys[idx];
		q->state_flags = REACHED_LEAF;
		if (!key_exists(key, node)) {
			q->values[idx].found = 0;
			next_key(ctx, q);
			return 0;
		}
		ptr__t ptr = nxt_node(key, node);
		if (kv_bad_ptr(ptr) || kv_value_crosses(ptr)) {
			ctx->done = 1;
			return kv_bad_ptr(ptr) ? KV_ERR_BAD_PTR : KV_ERR_VALUE_BLOCK;
		}
		q->state_flags = AT_VALUE;
		q->value_ptr = decode(ptr);
		ctx->next_addr[0] = value_base(q->value_ptr);
		ctx->size[0] = BLK_SIZE;
		return 0;
	}
	if (node->type != INTERNAL) {
		ctx->done = 1;
		return KV_ERR_BAD_NODE;
	}

	/* Case 3: an internal node: descend. */
	ptr__t next = nxt_node(q->keys[idx], node);
	if (kv_bad_ptr(next)) {
		ctx->done = 1;
		return KV_ERR_BAD_PTR;
	}
	ctx->next_addr[0] = decode(next);
	ctx->size[0] = BLK_SIZE;
	return 0;
}

#ifndef KV_NO_XRP_ENTRY
SEC("xrp")
int kv_get(struct bpf_xrp *ctx)
{
	return kv_get_body(ctx);
}
#endif
