/* skiplist.h: the on-disk skip list and the scratch pages of its storage functions.
 *
 * File: 512-byte nodes, node i at byte offset 512 * i; the head node is at
 * offset 0 (so offset 0 never names a successor and means "none").
 *
 * Node (struct SlNode, 336 bytes used, the rest of the 512 is zero):
 *   key     u64 @0     the key (u64, unsigned order); 0 in the head
 *   magic   u32 @8     SL_MAGIC_NODE, or SL_MAGIC_HEAD for the head
 *   level   u32 @12    forward entries in use, 1..SL_LEVEL_MAX (SL_LEVEL_MAX in the head)
 *   value   u8[64] @16 the value (the head keeps its live-node count in value[0..8))
 *   fwd[16] @80        per level: { key u64, offset u64 } of the next node on
 *                      that level, offset 0 = none. The successor's key is kept
 *                      beside its offset so that a search reads only the nodes
 *                      on its path (without it, every comparison is a read).
 *
 * A node of level h is linked on levels 0..h-1. Keys are distinct and rise
 * strictly along every level; the storage functions check that every node
 * they reach holds the key its predecessor announced, so a corrupt file ends
 * the chain with an error instead of a loop.
 */
#ifndef SKIPLIST_H
#define SKIPLIST_H

#include "xrp.h"

#define SL_NODE_BYTES 512
#define SL_LEVEL_MAX 16
#define SL_LEVEL_MASK (SL_LEVEL_MAX - 1)
#define SL_VALUE_BYTES 64
#define SL_MAGIC_NODE 0x4e4c5358u /* "XSLN" little-endian */
#define SL_MAGIC_HEAD 0x484c5358u /* "XSLH" */

struct SlForward {
	__u64 key;
	__u64 offset;
};

struct SlNode {
	__u64 key;
	__u32 magic;
	__u32 level;
	__u8 value[SL_VALUE_BYTES];
	struct SlForward fwd[SL_LEVEL_MAX];
};

_Static_assert(__builtin_offsetof(struct SlNode, value) == 16, "SlNode.value @16");
_Static_assert(__builtin_offsetof(struct SlNode, fwd) == 80, "SlNode.fwd @80");
_Static_assert(sizeof(struct SlNode) == 336, "SlNode is 336 bytes");

/* query states (both programs) */
#define SL_AT_HEAD 0   /* the block read is the head (the first read of a query) */
#define SL_SEARCHING 1 /* a node on the search path, announced as expect_key */
#define SL_AT_TARGET 2 /* get: the node holding the key; range: a node of the range */
#define SL_FINISHED 3

/* return values (non-zero ends the chain with the program-error status) */
#define SL_ERR_BAD_NODE 1  /* wrong magic, level, key, offset or key order in a node */
#define SL_ERR_BAD_QUERY 2 /* a state the query cannot be in */

/* Point lookup scratch (struct SlGetQuery, 96 bytes). The caller sets key,
 * state = SL_AT_HEAD, level = SL_LEVEL_MAX - 1, found = reads = 0, and reads the head. */
struct SlGetQuery {
	__u64 key;        /* @0 */
	__u64 expect_key; /* @8  the key of the node being read */
	__u32 state;      /* @16 */
	__s32 level;      /* @20 the level the search goes on at */
	__u32 found;      /* @24 1 when the key was found */
	__u32 reads;      /* @28 blocks read by this query */
	__u8 value[SL_VALUE_BYTES]; /* @32 the value, when found */
};

_Static_assert(sizeof(struct SlGetQuery) == 96, "SlGetQuery is 96 bytes");

/* Range scan scratch (struct SlRangeQuery, 2368 bytes): the pairs with
 * begin <= key <= end in key order, at most SL_RANGE_PAIRS per call. The caller
 * sets begin, end, state = SL_AT_HEAD, level = SL_LEVEL_MAX - 1, count = reads
 * = 0, and reads the head. A call that stops with a full page leaves
 * resume_offset != 0 (state SL_AT_TARGET, expect_key set): the caller takes the
 * pairs, sets count = 0 and reads resume_offset to go on. resume_offset == 0
 * and state SL_FINISHED: the scan is complete. */
#define SL_RANGE_PAIRS 32
#define SL_RANGE_PAIRS_MASK (SL_RANGE_PAIRS - 1)

struct SlPair {
	__u64 key;
	__u8 value[SL_VALUE_BYTES];
};

struct SlRangeQuery {
	__u64 begin;         /* @0 */
	__u64 end;           /* @8  inclusive */
	__u64 expect_key;    /* @16 */
	__u32 state;         /* @24 */
	__s32 level;         /* @28 */
	__u32 count;         /* @32 pairs in this call */
	__u32 reads;         /* @36 blocks read, over all calls */
	__u64 resume_offset; /* @40 where the next call starts, 0 when finished */
	__u8 _reserved[16];  /* @48 */
	struct SlPair pairs[SL_RANGE_PAIRS]; /* @64, 72 bytes each */
};

_Static_assert(sizeof(struct SlPair) == 72, "SlPair is 72 bytes");
_Static_assert(__builtin_offsetof(struct SlRangeQuery, pairs) == 64, "SlRangeQuery.pairs @64");
_Static_assert(sizeof(struct SlRangeQuery) == 2368, "SlRangeQuery is 2368 bytes");

/* Checks the node just read: its magic (head or node as expected) and level,
 * and that it holds the key its predecessor announced. */
static __always_inline int sl_node_ok(const struct SlNode *node, int at_head, __u64 expect_key)
{
	if (at_head)
		return node->magic == SL_MAGIC_HEAD && node->level == SL_LEVEL_MAX;
	return node->magic == SL_MAGIC_NODE && node->level >= 1 && node->level <= SL_LEVEL_MAX &&
	       node->key == expect_key;
}

/* A successor link is usable when it is a whole node past the head. */
static __always_inline int sl_link_ok(__u64 offset)
{
	return offset != 0 && (offset & (SL_NODE_BYTES - 1)) == 0;
}

#endif
