/* array_chain.h: the on-disk array chain ("easyArray") and its scratch page.
 *
 * File: N little-endian u64 elements, element i at byte offset 8 * i, no
 * header (64 elements per 512-byte block). A query starts at an index and hops
 * `index = (2 * value) mod N` (u64 arithmetic, so 2 * value wraps at 2^64) for
 * `hops_total` hops; every hop reads the 512-byte block that holds the element.
 *
 * Scratch (struct ArrayChainQuery, 48 bytes, at offset 0 of the page):
 *   n_elems     u64 @0   N (> 0)
 *   hops_total  u64 @8   k, the hops wanted (> 0)
 *   hops_done   u64 @16  hops made so far (the caller sets 0)
 *   index       u64 @24  the element being read; after the last hop, the final index
 *   last_value  u64 @32  the value read by the last hop
 *   sum         u64 @40  sum of every value read, modulo 2^64 (checks the whole path)
 *
 * The state after every hop is complete, so a chain cut short (the driver's
 * resubmission limit) is finished by the user-space walk from (index, hops_done).
 */
#ifndef ARRAY_CHAIN_H
#define ARRAY_CHAIN_H

#include "xrp.h"

#define AC_BLOCK_BYTES 512
#define AC_ELEM_BYTES 8

/* return values (non-zero ends the chain with the program-error status) */
#define AC_ERR_BAD_QUERY 1 /* n_elems == 0, index >= n_elems, or hops_done >= hops_total on entry */

struct ArrayChainQuery {
	__u64 n_elems;
	__u64 hops_total;
	__u64 hops_done;
	__u64 index;
	__u64 last_value;
	__u64 sum;
};

_Static_assert(sizeof(struct ArrayChainQuery) == 48, "ArrayChainQuery is 48 bytes");

#endif
