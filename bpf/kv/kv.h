/* kv.h: BPF-KV, the original XRP artifact's key-value store (xrp-ts).
 *
 * On-disk format (byte-compatible with the original's db_types.h / create.c):
 *   512-byte nodes, fanout 31, breadth first from offset 0 (root), then the
 *   value log. Node { u64 next @0; u64 type @8 (0 internal, 1 leaf);
 *   u64 key[31] @16; u64 ptr[31] @264 }. Pointers are file offsets with bit 63
 *   set (FILE_MASK). Values are 64 bytes: the number printed "%63lu" + NUL.
 *
 * Scratch layouts (the caller's 4096-byte page):
 *
 * struct ScatterGatherQuery (point lookups, up to 32 keys per call; the
 * original's layout, 2368 bytes):
 *   root_pointer@0 u64, value_ptr@8 u64, state_flags@16 u32,
 *   current_index@20 s32, n_keys@24 s32, keys[32]@32 u64,
 *   values[32]@288 { u8 found; u8 value[64]; } (65 bytes, packed)
 *   The caller zeroes the page, sets root_pointer (0), n_keys and keys[], and
 *   reads root_pointer first. values[i].found is 1 with the value, or 0.
 *
 * struct RangeQuery (range queries; the original's layout up to 2880 bytes,
 * then the xrp-ts aggregation extension):
 *   range_begin@0 u64, range_end@8 u64, flags@16 u32 (1 begin-exclusive,
 *   2 end-inclusive; default [begin, end)), agg_op@20 u32, len@24 s32,
 *   kv[32]@32 { u64 key; u8 value[64]; } (72 bytes), agg_value@2336 u64,
 *   _state@2344 u32, _resume_from_leaf@2352 u64, _node_key_ix@2360 u32,
 *   _current_node@2368 (a Node, 512 bytes)                      -> 2880
 *   extension (zero in an original caller's page):
 *   agg_count@2880 u64   values (COUNT: keys) aggregated so far
 *   agg_sum@2888 u64     sum of the values' numbers, modulo 2^64
 *   out_len@2896 u32     entries of out[] filled by this call (ARRAY, SET)
 *   agg_status@2900 u32  0, or KV_AGG_BAD_VALUE: a value is not a number
 *   out[96]@2904 u64     ARRAY: numbers in key order; SET: distinct numbers
 *                        in order of first appearance within this call
 *   set_index[128]@3672 u8  SET's open-addressing hash index: 0 empty, else
 *                        1 + position in out[]                  -> 3800
 *
 * Range protocol: the caller calls kv_set_range() semantics (scratch.ts:
 * setRange): _state = RNG_TRAVERSE, _resume_from_leaf = 0, len = 0, and reads
 * offset 0. The program descends by range_begin, recording in
 * _resume_from_leaf the offset of each node it asks for (so, at the leaf, the
 * leaf's own offset), then walks the leaves through `next`, reading one value
 * block per key (the original's model of a value heap). A call ends (done) when
 * the range is complete (range_begin = range_end, flags begin-exclusive and not
 * end-inclusive: empty_range() is then true), or when its output is full:
 * 32 pairs for AGG_NONE, 96 numbers for ARRAY and SET. To resume, the caller
 * clears len (and out_len and set_index), sets _state = RNG_RESUME and reads
 * _resume_from_leaf; _node_key_ix says where to continue within that leaf.
 * Scalar aggregations (SUM, COUNT, MIN, MAX, AVG) never fill up: one call
 * covers the range, and agg_value holds the result at the end (MIN/MAX/AVG are
 * meaningless while agg_count is 0). COUNT reads no values (leaves only).
 * SET results are distinct within one call; across resumed calls the caller
 * takes their union.
 * A chain cut anywhere (XRP's resubmission limit) resumes the same way: a key
 * is consumed (range_begin moves past it) only once its value is in, and a
 * resume that lands on an internal node continues the descent.
 * ScatterGatherQuery resumes at the value block if state_flags & AT_VALUE (the
 * leaf found the key; value_ptr is set), else at root_pointer.
 *
 * Values as numbers: leading spaces, then decimal digits up to a NUL or the
 * end of the 64 bytes; anything else sets agg_status = KV_AGG_BAD_VALUE and
 * ends the chain with return value KV_ERR_BAD_VALUE.
 *
 * Return values (non-zero ends the chain with a program-error status):
 *   KV_ERR_BAD_NODE   a node's type is neither 0 nor 1
 *   KV_ERR_BAD_STATE  _state or agg_op is not one of the values below
 *   KV_ERR_BAD_VALUE  see above
 *   KV_ERR_BAD_PTR    a pointer followed has no FILE_MASK
 *   KV_ERR_VALUE_BLOCK  a value pointer whose 64 bytes cross a 512-byte block
 */
#ifndef BPF_KV_H
#define BPF_KV_H

#include "xrp.h"

typedef __u64 key__t;
typedef __u64 ptr__t;
typedef unsigned char val__t[64];

#define BLK_SIZE 512
#define VAL_SIZE 64
#define NODE_CAPACITY 31
#define ROOT_NODE_OFFSET 0
#define FILE_MASK ((ptr__t)1 << 63)
#define INTERNAL 0
#define LEAF 1

/* Keeps the compiler from computing an address from `v` before a bounds check
 * on it (the Linux verifier would see an unbounded offset). */
#define kv_barrier_var(v) asm volatile("" : "+r"(v))

#define KV_ERR_BAD_NODE 1
#define KV_ERR_BAD_STATE 2
#define KV_ERR_BAD_VALUE 3
#define KV_ERR_BAD_PTR 4     /* a node's pointer without FILE_MASK */
#define KV_ERR_VALUE_BLOCK 5 /* a value's 64 bytes cross a 512-byte block */

/* The structural checks of src/kv/checks.ts that only the walk can make. */
static __always_inline int kv_bad_ptr(ptr__t ptr) { return (ptr & FILE_MASK) == 0; }
static __always_inline int kv_value_crosses(ptr__t ptr) { return (ptr & (BLK_SIZE - 1)) + VAL_SIZE > BLK_SIZE; }

static __always_inline ptr__t value_base(ptr__t ptr) { return ptr & ~(ptr__t)(BLK_SIZE - 1); }
static __always_inline ptr__t value_offset(ptr__t ptr) { return ptr & (BLK_SIZE - 1); }
static __always_inline ptr__t decode(ptr__t ptr) { return ptr & ~FILE_MASK; }

struct Node {
	__u64 next;
	__u64 type;
	key__t key[NODE_CAPACITY];
	ptr__t ptr[NODE_CAPACITY];
};
_Static_assert(sizeof(struct Node) == BLK_SIZE, "Node is one block");

/* The descent of the original (helpers.c nxt_node): */
/* ptr[i-1] for the first i >= 1 with key < key[i], else ptr[30]. */
static __always_inline ptr__t nxt_node(key__t key, const struct Node *node)
{
	for (int i = 1; i < NODE_CAPACITY; ++i)
		if (key < node->key[i])
			return node->ptr[i - 1];
	return node->ptr[NODE_CAPACITY - 1];
}

/* ---- point lookups ---- */
#define SG_KEYS 32
#define REACHED_LEAF 1
#define AT_VALUE 1

struct MaybeValue {
	char found;
	val__t value;
};

struct ScatterGatherQuery {
	ptr__t root_pointer;
	ptr__t value_ptr;
	unsigned int state_flags;
	int current_index;
	int n_keys;
	key__t keys[SG_KEYS];
	struct MaybeValue values[SG_KEYS];
};
_Static_assert(sizeof(struct MaybeValue) == 65, "MaybeValue is 65 bytes");
_Static_assert(__builtin_offsetof(struct ScatterGatherQuery, keys) == 32, "keys@32");
_Static_assert(__builtin_offsetof(struct ScatterGatherQuery, values) == 288, "values@288");
_Static_assert(sizeof(struct ScatterGatherQuery) == 2368, "ScatterGatherQuery is 2368 bytes");

/* ---- range queries ---- */
#define RNG_KEYS 32
#define RNG_BEGIN_EXCLUSIVE 1u
#define RNG_END_INCLUSIVE 2u

#define RNG_RESUME 1
#define RNG_TRAVERSE 2
#define RNG_READ_VALUE 3
#define RNG_READ_NODE 4

#define AGG_NONE 0 /* pairs into kv[] (the original) */
#define AGG_SUM 1  /* the original's id; xrp-ts sums the values' numbers */
#define AGG_COUNT 2
#define AGG_MIN 3
#define AGG_MAX 4
#define AGG_AVG 5 /* agg_value = agg_sum / agg_count (floor) */
#define AGG_ARRAY 6
#define AGG_SET 7

#define KV_OUT_MAX 96
#define KV_SET_SLOTS 128
#define KV_AGG_BAD_VALUE 1

struct KeyValue {
	key__t key;
	val__t value;
};

struct RangeQuery {
	key__t range_begin;
	key__t range_end;
	unsigned int flags;
	unsigned int agg_op;
	int len;
	struct KeyValue kv[RNG_KEYS];
	__u64 agg_value;
	unsigned int _state;
	ptr__t _resume_from_leaf;
	unsigned int _node_key_ix;
	struct Node _current_node;
	/* xrp-ts extension */
	__u64 agg_count;
	__u64 agg_sum;
	unsigned int out_len;
	unsigned int agg_status;
	__u64 out[KV_OUT_MAX];
	unsigned char set_index[KV_SET_SLOTS];
};
_Static_assert(__builtin_offsetof(struct RangeQuery, kv) == 32, "kv@32");
_Static_assert(__builtin_offsetof(struct RangeQuery, agg_value) == 2336, "agg_value@2336");
_Static_assert(__builtin_offsetof(struct RangeQuery, _state) == 2344, "_state@2344");
_Static_assert(__builtin_offsetof(struct RangeQuery, _resume_from_leaf) == 2352, "_resume_from_leaf@2352");
_Static_assert(__builtin_offsetof(struct RangeQuery, _node_key_ix) == 2360, "_node_key_ix@2360");
_Static_assert(__builtin_offsetof(struct RangeQuery, _current_node) == 2368, "_current_node@2368");
_Static_assert(__builtin_offsetof(struct RangeQuery, agg_count) == 2880, "agg_count@2880");
_Static_assert(__builtin_offsetof(struct RangeQuery, out_len) == 2896, "out_len@2896");
_Static_assert(__builtin_offsetof(struct RangeQuery, out) == 2904, "out@2904");
_Static_assert(__builtin_offsetof(struct RangeQuery, set_index) == 3672, "set_index@3672");
_Static_assert(sizeof(struct RangeQuery) <= XRP_PAGE_BYTES, "RangeQuery fits the scratch page");

#endif /* BPF_KV_H */
