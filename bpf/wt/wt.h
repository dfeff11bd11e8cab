/* wt.h: the pages of the WiredTiger-style B+-tree (src/wt/format.ts is the
 * other definition and must agree) and the scratch page of its lookup.
 *
 * File: 4096-byte blocks; blocks 0 and 1 are superblocks, any other block is
 * free or one page. Page header (32 bytes, little-endian):
 *   @0 magic u32 WT_PAGE_MAGIC   @4 type u8 (1 leaf, 2 internal)   @5 level u8 (0 leaf)
 *   @6 entries u16               @8 checksum u32                   @12 block u32 (its own)
 *   @16 generation u32           @20..27 fence keys (leaf)          @28 used u16
 *   @32 slots: entries x u16 cell offsets, in key order
 * Cells, 8-byte aligned, keys zero-padded to 8 bytes:
 *   leaf:     key_len u16, value_len u16, 0 u32, key, value
 *   internal: key_len u16, 0 u16, child block u32, child checksum u32, 0 u32, key
 *             (entry 0's key is minus infinity)
 * At most WT_ENTRIES_MAX entries per page.
 */
#ifndef WT_H
#define WT_H

#include "xrp.h"

#define WT_PAGE_BYTES 4096
#define WT_PAGE_MAGIC 0x47505457u /* "WTPG" */
#define WT_TYPE_LEAF 1
#define WT_TYPE_INTERNAL 2
#define WT_HEADER_BYTES 32
#define WT_KEY_MAX 128
#define WT_KEY_MASK (WT_KEY_MAX - 1)
#define WT_KEY_WORDS (WT_KEY_MAX / 8)
#define WT_ENTRIES_MAX 255
#define WT_LEAF_CELL 8
#define WT_INTERNAL_CELL 16
#define WT_FIRST_PAGE_BLOCK 2
/* probes of a binary search over at most WT_ENTRIES_MAX entries */
#define WT_SEARCH_STEPS 8
#define WT_QUERY_MAGIC 0x51505457u /* "WTPQ" */

/* return values (non-zero ends the chain with the program-error status) */
#define WT_ERR_QUERY 1 /* the scratch page is not a query */
#define WT_ERR_PAGE 2  /* a page fails its checks (magic, type, level, block, slot, cell bounds) */

/* The scratch page of a lookup (struct WtQuery). The caller sets magic, key,
 * key (zero-padded to WT_KEY_MAX), key_len, level and cur_block (of the first page to read), checksum (the
 * cookie's, only recorded) and zeroes the rest. On return with found = 1,
 * value_off/value_len locate the value in the leaf, which the data buffer
 * holds; leaf_block and leaf_checksum let the caller check that leaf. */
struct WtQuery {
	__u32 magic;         /* @0 */
	__u32 done;          /* @4 1 once the leaf was searched */
	__u32 key_len;       /* @8 */
	__u32 level;         /* @12 the level of the page being read */
	__u32 hops;          /* @16 pages read */
	__u32 found;         /* @20 */
	__u32 value_off;     /* @24 */
	__u32 value_len;     /* @28 */
	__u32 cur_block;     /* @32 the block being read */
	__u32 checksum;      /* @36 its parent's cookie checksum */
	__u32 error;         /* @40 WT_ERR_* */
	__u32 error_off;     /* @44 the byte of the page that failed */
	/* the slot being probed: a slot index goes through memory before it is
	 * used, so the verifier does not tie the search bounds to the page access
	 * (with the index in a register the Linux verifier tracks every path's
	 * bounds apart and gives up at 1M instructions) */
	__u32 probe;         /* @48 */
	__s32 lo;            /* @52 */
	__s32 hi;            /* @56 */
	__u32 _reserved;     /* @60 */
	__u8 key[WT_KEY_MAX]; /* @64 */
};

_Static_assert(__builtin_offsetof(struct WtQuery, key) == 64, "WtQuery.key @64");
_Static_assert(sizeof(struct WtQuery) == 192, "WtQuery is 192 bytes");

#endif
