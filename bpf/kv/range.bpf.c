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

/* nxt_node (kv.h), written so that each of its ways out loads its pointer at
 * a fixed offset from the key it just compared (fewer instructions on each of
 * the 30 ways out, which the verifiers follow one by one). */
static __always_inline ptr__t range_nxt_node(key__t key, const struct Node *node)
{
	const key__t *kp = &node->key[1];
	const ptr__t *pp = &node->ptr[0];

	for (int i = 1; i < NODE_CAPACITY; ++i, ++kp, ++pp)
		if (key < *kp)
			return *pp;
	return node->ptr[NODE_CAPACITY - 1];
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
	if (kv_bad_ptr(node->ptr[i]) || kv_value_crosses(node->ptr[i])) {
		ctx->done = 1;
		return kv_bad_ptr(node->ptr[i]) ? KV_ERR_BAD_PTR : KV_ERR_VALUE_BLOCK;
	}
	q->_state = RNG_READ_VALUE;
	ctx->next_addr[0] = value_base(decode(node->ptr[i]));
	ctx->size[0] = BLK_SIZE;
	return 0;
}

#define SPACES_U64 0x2020202020202020ULL

/* Index of the lowest byte of x whose bit 7 is set (x has only bit-7 bits set,
 * at least one): isolate it, then read its index off a multiplication. */
static __always_inline __u64 lowest_byte_ix(__u64 x)
{
	x &= -x;
	return (((x >> 7) * 0x0001020304050607ULL) >> 56) & 7;
}

/* The number in a value: leading spaces, digits, then NUL or the end.
 *
 * Shaped for the verifiers, which follow every path of a loop (a position
 * they know exactly is a new state at each iteration): where the leading
 * spaces end is computed without a branch per byte or word, from the 8 words
 * of the value (unaligned 8-byte loads read the same bytes as byte loads on
 * this little-endian target). The digit loop then starts at one position
 * known only to lie in [0, 63] (one chain of 64 states, not one per start),
 * and its accumulator starts from the first digit taken out of the word, of
 * a range the verifier does not narrow. */
static __always_inline int parse_number(const unsigned char *v, __u64 *out)
{
	__u64 marks = 0, word, w, k, acc;

	/* byte w of marks has bit 7 set iff word w is not all spaces */
	for (int i = 0; i < VAL_SIZE / 8; i++) {
		word = *(const __u64 *)(v + i * 8) ^ SPACES_U64;
		marks |= ((word | -word) >> 63) << (i * 8 + 7);
	}
	/* only spaces: no digit */
	if (marks == 0)
		return -1;
	w = lowest_byte_ix(marks);
	word = *(const __u64 *)(v + w * 8) ^ SPACES_U64;
	/* bit 7 of byte j set iff byte j of the word is not a space */
	k = w * 8 + lowest_byte_ix((((word & 0x7f7f7f7f7f7f7f7fULL) + 0x7f7f7f7f7f7f7f7fULL) | word) &
				   0x8080808080808080ULL);
	/* at least one digit: checked before the digit loop so that the loop
	 * carries no digit count */
	if (v[k] < '0' || v[k] > '9')
		return -1;
	acc = ((word >> ((k & 7) * 8)) & 0xff) ^ 0x20;
	acc -= '0';
	k++;
	for (__u64 n = 0; n < VAL_SIZE; n++) {
		if (k >= VAL_SIZE)
			break;
		kv_barrier_var(k);
		__u64 c = v[k], digit = c - '0';
		if (c == 0)
			break;
		/* one test for both ends of '0'..'9' (one branch less to follow) */
		if (digit > 9)
			return -1;
		acc = acc * 10 + digit;
		k++;
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

/* The block holding the value of key _node_key_ix of _current_node: 0 when
 * the scan of the leaf goes on (process_leaf), else the error to return. */
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
		if (parse_number(v, &number) != 0) {
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
	return 0; /* the caller goes on with process_leaf */
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
		/* A chain cut during the descent resumes at an internal node: descend.
		 * Once a leaf has been read (its copy is in _current_node) a resume
		 * lands on a leaf, the next of one or the one being read: another type
		 * there is a corrupt file (KV_ERR_BAD_NODE below, as a user-space walk
		 * finds it), not a descent. */
		if (node->type == INTERNAL && q->_current_node.type != LEAF)
			q->_state = RNG_TRAVERSE;
		/* FALL THROUGH */
	case RNG_TRAVERSE:
		if (q->_state == RNG_TRAVERSE) {
			if (node->type == INTERNAL) {
				ptr__t next = range_nxt_node(q->range_begin, node);
				if (kv_bad_ptr(next)) {
					ctx->done = 1;
					return KV_ERR_BAD_PTR;
				}
				next = decode(next);
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
		break;
	case RNG_READ_VALUE: {
		int err = process_value(ctx, q);

		if (err != 0)
			return err;
		break;
	}
	default:
		ctx->done = 1;
		return KV_ERR_BAD_STATE;
	}
	/* one process_leaf for both ways in: the verifiers follow its key loop once */
	return process_leaf(ctx, q);
}

#ifndef KV_NO_XRP_ENTRY
SEC("xrp")
int kv_range(struct bpf_xrp *ctx)
{
	return kv_range_body(ctx);
}
#endif
