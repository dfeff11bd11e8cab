/* skiplist.bpf.c: point lookups (sl_get) and range scans (sl_range) in the
 * on-disk skip list of skiplist.h, one node per block read.
 *
 * Both searches start at the head (offset 0) on the top level. At each node
 * they go right along the current level while the successor's key (kept beside
 * its offset) is below the target, and down otherwise; so each invocation
 * either names the next node to read or ends the query. sl_get reads the node
 * holding the key last (for its value); sl_range reads the first node with a
 * key >= begin and then follows level 0, up to 32 pairs per call.
 */
#include "skiplist.h"

#ifndef SL_NO_XRP_ENTRY
char LICENSE[] SEC("license") = "GPL";
#endif

static __always_inline int sl_fail(struct bpf_xrp *ctx, int error)
{
	ctx->done = 1;
	return error;
}

static __always_inline int sl_read_next(struct bpf_xrp *ctx, __u64 offset)
{
	ctx->next_addr[0] = offset;
	ctx->size[0] = SL_NODE_BYTES;
	return 0;
}

/* The level to go on at this node: the query's, capped by the node's own. */
static __always_inline int sl_start_level(const struct SlNode *node, int level)
{
	int top = (int)node->level - 1;
	return level > top ? top : level;
}

/* The bodies are also used by test/structures/kernel/verify.bpf.c to run the real Linux verifier on them. */
static __always_inline int sl_get_body(struct bpf_xrp *ctx)
{
	struct SlGetQuery *q = (struct SlGetQuery *)ctx->scratch;
	const struct SlNode *node = (const struct SlNode *)ctx->data;
	__u32 state = q->state;
	__u64 key = q->key;

	q->reads += 1;
	if (state == SL_AT_TARGET) {
		if (!sl_node_ok(node, 0, key))
			return sl_fail(ctx, SL_ERR_BAD_NODE);
		__builtin_memcpy(q->value, node->value, SL_VALUE_BYTES);
		q->found = 1;
		q->state = SL_FINISHED;
		ctx->done = 1;
		return 0;
	}
	if (state != SL_AT_HEAD && state != SL_SEARCHING)
		return sl_fail(ctx, SL_ERR_BAD_QUERY);
	if (!sl_node_ok(node, state == SL_AT_HEAD, q->expect_key))
		return sl_fail(ctx, SL_ERR_BAD_NODE);

	/* The counter i bounds the loop for the verifier: clang keeps no bound on
	 * `level` alone (without i, the verifier gives up after 1M instructions). */
	int level = sl_start_level(node, q->level);
	for (int i = 0; i < SL_LEVEL_MAX && level >= 0; i++, level--) {
		const struct SlForward *f = &node->fwd[level & SL_LEVEL_MASK];
		__u64 next_key = f->key;
		__u64 offset = f->offset;
		if (offset == 0 || next_key > key)
			continue;
		if (!sl_link_ok(offset) || (state != SL_AT_HEAD && next_key <= node->key))
			return sl_fail(ctx, SL_ERR_BAD_NODE);
		q->expect_key = next_key;
		q->level = level;
		q->state = next_key == key ? SL_AT_TARGET : SL_SEARCHING;
		return sl_read_next(ctx, offset);
	}
	/* Below level 0 with every successor past the key: it is not in the list. */
	q->found = 0;
	q->state = SL_FINISHED;
	ctx->done = 1;
	return 0;
}

/* Goes on along level 0 from `node`: reads the successor if it is in the
 * range, stops for a resume if the page of pairs is full, else finishes. */
static __always_inline int sl_range_follow(struct bpf_xrp *ctx, struct SlRangeQuery *q, const struct SlNode *node, int at_head)
{
	__u64 next_key = node->fwd[0].key;
	__u64 offset = node->fwd[0].offset;

	if (offset == 0 || next_key > q->end) {
		q->resume_offset = 0;
		q->state = SL_FINISHED;
		ctx->done = 1;
		return 0;
	}
	if (!sl_link_ok(offset) || (!at_head && next_key <= node->key))
		return sl_fail(ctx, SL_ERR_BAD_NODE);
	q->expect_key = next_key;
	q->state = SL_AT_TARGET;
	if (q->count >= SL_RANGE_PAIRS) {
		q->resume_offset = offset;
		ctx->done = 1;
		return 0;
	}
	q->resume_offset = 0;
	return sl_read_next(ctx, offset);
}

static __always_inline int sl_range_body(struct bpf_xrp *ctx)
{
	struct SlRangeQuery *q = (struct SlRangeQuery *)ctx->scratch;
	const struct SlNode *node = (const struct SlNode *)ctx->data;
	__u32 state = q->state;

	q->reads += 1;
	if (state == SL_AT_TARGET) {
		__u32 idx = q->count;
		if (idx >= SL_RANGE_PAIRS)
			return sl_fail(ctx, SL_ERR_BAD_QUERY);
		if (!sl_node_ok(node, 0, q->expect_key))
			return sl_fail(ctx, SL_ERR_BAD_NODE);
		struct SlPair *pair = &q->pairs[idx & SL_RANGE_PAIRS_MASK];
		pair->key = node->key;
		__builtin_memcpy(pair->value, node->value, SL_VALUE_BYTES);
		q->count = idx + 1;
		return sl_range_follow(ctx, q, node, 0);
	}
	if (state != SL_AT_HEAD && state != SL_SEARCHING)
		return sl_fail(ctx, SL_ERR_BAD_QUERY);
	if (!sl_node_ok(node, state == SL_AT_HEAD, q->expect_key))
		return sl_fail(ctx, SL_ERR_BAD_NODE);

	__u64 begin = q->begin;
	int level = sl_start_level(node, q->level);
	for (int i = 0; i < SL_LEVEL_MAX && level >= 0; i++, level--) {
		const struct SlForward *f = &node->fwd[level & SL_LEVEL_MASK];
		__u64 next_key = f->key;
		__u64 offset = f->offset;
		if (offset == 0 || next_key >= begin)
			continue;
		if (!sl_link_ok(offset) || (state != SL_AT_HEAD && next_key <= node->key))
			return sl_fail(ctx, SL_ERR_BAD_NODE);
		q->expect_key = next_key;
		q->level = level;
		q->state = SL_SEARCHING;
		return sl_read_next(ctx, offset);
	}
	/* This node is the last one below begin: its level-0 successor starts the range. */
	return sl_range_follow(ctx, q, node, state == SL_AT_HEAD);
}

#ifndef SL_NO_XRP_ENTRY
SEC("xrp")
int sl_get(struct bpf_xrp *ctx)
{
	return sl_get_body(ctx);
}

SEC("xrp")
int sl_range(struct bpf_xrp *ctx)
{
	return sl_range_body(ctx);
}
#endif
