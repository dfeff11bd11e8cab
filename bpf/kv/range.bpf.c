/* range.bpf.c: BPF-KV range queries and aggregations (the original's
 * xrp-bpf/range.c state machine, with its resume made exact, plus COUNT, MIN,
 * MAX, AVG, ARRAY and SET). Scratch: struct RangeQuery (kv.h, which documents
 * the protocol).
 *
 * Differences from the original, on purpose:
 *  - _resume_from_leaf is kept up to date while descending, so the first leaf
 *    can be resumed (the original left it at the root).
 *  - every leaf that is read (also on RNG_RESUME) is copied to _current_node,
 *    so values are taken from the leaf actually being scanned.
 *  - _node_key_ix advances after each value (the original re-visited the key
 *    and skipped it through range_begin).
 *  - SUM adds the values' numbers (the original added their first 8 bytes).
 */
#include "kv.h"

#ifndef KV_NO_XRP_ENTRY
char LICENSE[] SEC("license") = "GPL";
#endif

#define KEY_MASK (RNG_KEYS - 1)
#define OUT_MASK 127
#define SET_MASK (KV_SET_SLOTS - 1)

static __always_inline void mark_complete(struct bpf_xrp *ctx, struct RangeQuery *q)
{
	q->range_begin = q->range_end;
	q->flags |= RNG_BEGIN_EXCLUSIVE;
	q->flags &= ~RNG_END_INCLUSIVE;
	ctx->done = 1;
}

static __always_inline int output_full(const struct RangeQuery *q)
{
	if (q->agg_op == AGG_NONE)
		return q->len >= RNG_KEYS;
	if (q->agg_op == AGG_ARRAY || q->agg_op == AGG_SET)
		return q->out_len >= KV_OUT_MAX;
	return 0;
}

/* Scan the current leaf from _node_key_ix: ask for the next value's block,
 * count keys (COUNT), or end the call.
 *
 * Shaped for the verifiers (ours and Linux's), which follow the key loop once
 * per iteration and entry state: no flag is tested in the loop (the end is
 * turned into an inclusive limit first, output_full() is tested once: neither
 * len nor out_len changes here), and leaving the loop for a value's block
 * jumps to one place after it, where the paths of all iterations meet. */
static __always_inline int process_leaf(struct bpf_xrp *ctx, struct RangeQuery *q)
{
	const struct Node *node = &q->_current_node;
	key__t first_key, last_key;
	__u64 i; /* 64-bit, as is the loop counter: no zero-extensions in the loop */

	if (output_full(q)) {
		/* suspend: the caller takes the output and resumes */
		ctx->done = 1;
		q->_state = RNG_RESUME;
		if (q->_node_key_ix >= NODE_CAPACITY) {
			if (node->next == 0) {
				mark_complete(ctx, q);
			} else {
				q->_resume_from_leaf = node->next;
				q->_node_key_ix = 0;
			}
		}
		return 0;
	}

	/* the last key in the range */
	last_key = q->range_end;
	if (!(q->flags & RNG_END_INCLUSIVE)) {
		if (last_key == 0) {
			/* an exclusive end of 0: the first key looked at ends the range */
			if (q->_node_key_ix < NODE_CAPACITY) {
				mark_complete(ctx, q);
				return 0;
			}
			goto leaf_done;
		}
		last_key -= 1;
	}
	first_key = (q->flags & RNG_BEGIN_EXCLUSIVE) ? q->range_begin + 1 : q->range_begin;

	for (__u64 n = 0; n < NODE_CAPACITY; n++) {
		i = q->_node_key_ix;
		if (i >= NODE_CAPACITY)
			break;
		kv_barrier_var(i);
		key__t key = node->key[i & 31];
		if (key > last_key) {
			mark_complete(ctx, q);
			return 0;
		}
		if (key >= first_key) {
			if (q->agg_op != AGG_COUNT)
				goto read_value;
			/* never take this key again, here or after a resume */
			q->range_begin = key;
			q->flags |= RNG_BEGIN_EXCLUSIVE;
			first_key = key + 1;
			q->agg_count += 1;
			q->agg_value = q->agg_count;
		}
		q->_node_key_ix = i + 1;
	}

leaf_done:
	if (node->next == 0) {
		/* the last leaf: the whole index has been read */
		mark_complete(ctx, q);
		return 0;
	}
	q->_resume_from_leaf = node->next;
	q->_node_key_ix = 0;
	q->_state = RNG_READ_NODE;
	ctx->next_addr[0] = node->next;
	ctx->size[0] = BLK_SIZE;
	return 0;

read_value:
	/* key _node_key_ix is in the range: ask for its value's block */
	i = q->_node_key_ix & 31;
	if (q->agg_op == AGG_NONE)
		q->kv[q->len & KEY_MASK].key = node->key[i];
	q->_state = RNG_READ_VALUE;
	ctx->next_addr[0] = value_base(decode(node->ptr[i]));
	ctx->size[0] = BLK_SIZE;
	return 0;
}

/* The number in a value: leading spaces, digits, then NUL or the end.
 * `offset` is the value's offset in the block: when it is 8-aligned (always,
 * for a well-formed file) the leading spaces are skipped a word at a time. */
static __always_inline int parse_number(const unsigned char *v, __u64 offset, __u64 *out)
{
	__u64 acc;
	int k = 0;

	if ((offset & 7) == 0) {
		for (int w = 0; w < VAL_SIZE / 8; w++) {
			if (*(const __u64 *)(v + w * 8) != 0x2020202020202020ULL)
				break;
			k += 8;
		}
	}
	/* leading spaces */
	for (; k < VAL_SIZE; k++)
		if (v[k] != ' ')
			break;
	/* at least one digit: checked before the digit loop so that the loop
	 * carries no digit count (a verifier would keep one state per
	 * (position, count) pair: Linux processed 188,517 instructions, now 55,099) */
	if (k >= VAL_SIZE || v[k] < '0' || v[k] > '9')
		return -1;
	acc = v[k] - '0';
	for (k++; k < VAL_SIZE; k++) {
		unsigned char c = v[k];
		if (c == 0)
			break;
		if (c < '0' || c > '9')
			return -1;
		acc = acc * 10 + (c - '0');
	}
	*out = acc;
	return 0;
}

static __always_inline void set_insert(struct RangeQuery *q, __u64 number)
{
	/* linear probing from the hash's slot; the slot is carried from one
	 * probe to the next (fewer instructions per probe for a verifier, which
	 * follows all KV_SET_SLOTS of them) */
	__u64 slot = (number * 0x9E3779B97F4A7C15ULL) >> 57;

	for (__u64 p = 0; p < KV_SET_SLOTS; p++) {
		unsigned char e = q->set_index[slot & SET_MASK];
		if (e == 0) {
			q->out[q->out_len & OUT_MASK] = number;
			q->out_len += 1;
			q->set_index[slot & SET_MASK] = (unsigned char)q->out_len;
			return;
		}
		if (q->out[(e - 1) & OUT_MASK] == number)
			return;
		slot = (slot + 1) & SET_MASK;
	}
}

/* The block holding the value of key _node_key_ix of _current_node. */
static __always_inline int process_value(struct bpf_xrp *ctx, struct RangeQuery *q)
{
	unsigned int i = q->_node_key_ix & 31;
	__u64 offset = value_offset(decode(q->_current_node.ptr[i]));
	const unsigned char *v = (const unsigned char *)ctx->data + offset;
	key__t key = q->_current_node.key[i];
	__u64 number = 0;

	if (q->agg_op == AGG_NONE) {
		__builtin_memcpy(q->kv[q->len & KEY_MASK].value, v, VAL_SIZE);
		q->len += 1;
	} else {
		if (parse_number(v, offset, &number) != 0) {
			q->agg_status = KV_AGG_BAD_VALUE;
			ctx->done = 1;
			return KV_ERR_BAD_VALUE;
		}
		switch (q->agg_op) {
		case AGG_SUM:
			q->agg_sum += number;
			q->agg_value = q->agg_sum;
			break;
		case AGG_MIN:
			if (q->agg_count == 0 || number < q->agg_value)
				q->agg_value = number;
			break;
		case AGG_MAX:
			if (q->agg_count == 0 || number > q->agg_value)
				q->agg_value = number;
			break;
		case AGG_AVG:
			q->agg_sum += number;
			q->agg_value = q->agg_sum / (q->agg_count + 1);
			break;
		case AGG_ARRAY:
			q->out[q->out_len & OUT_MASK] = number;
			q->out_len += 1;
			break;
		case AGG_SET:
			set_insert(q, number);
			break;
		default:
			ctx->done = 1;
			return KV_ERR_BAD_STATE;
		}
		q->agg_count += 1;
	}
	/* The key is consumed only now that its value is in: a chain cut while the
	 * value's read was pending resumes at this key, not after it. */
	q->range_begin = key;
	q->flags |= RNG_BEGIN_EXCLUSIVE;
	q->_node_key_ix = i + 1;
	q->_state = RNG_RESUME;
	return process_leaf(ctx, q);
}

/* The body, also used by test/kv/kernel/verify.bpf.c to run the real Linux verifier on it. */
static __always_inline int kv_range_body(struct bpf_xrp *ctx)
{
	struct RangeQuery *q = (struct RangeQuery *)ctx->scratch;
	const struct Node *node = (const struct Node *)ctx->data;

	if (q->agg_op > AGG_SET) {
		ctx->done = 1;
		return KV_ERR_BAD_STATE;
	}
	switch (q->_state) {
	case RNG_RESUME:
		/* A chain cut during the descent resumes at an internal node: descend. */
		if (node->type == INTERNAL)
			q->_state = RNG_TRAVERSE;
		/* FALL THROUGH */
	case RNG_TRAVERSE:
		if (q->_state == RNG_TRAVERSE) {
			if (node->type == INTERNAL) {
				ptr__t next = decode(nxt_node(q->range_begin, node));
				q->_resume_from_leaf = next;
				ctx->next_addr[0] = next;
				ctx->size[0] = BLK_SIZE;
				return 0;
			}
			q->_node_key_ix = 0;
		}
		/* FALL THROUGH: a leaf */
	case RNG_READ_NODE:
		if (node->type != LEAF) {
			ctx->done = 1;
			return KV_ERR_BAD_NODE;
		}
		__builtin_memcpy(&q->_current_node, node, sizeof(struct Node));
		q->_state = RNG_RESUME;
		return process_leaf(ctx, q);
	case RNG_READ_VALUE:
		return process_value(ctx, q);
	default:
		ctx->done = 1;
		return KV_ERR_BAD_STATE;
	}
}

#ifndef KV_NO_XRP_ENTRY
SEC("xrp")
int kv_range(struct bpf_xrp *ctx)
{
	return kv_range_body(ctx);
}
#endif
