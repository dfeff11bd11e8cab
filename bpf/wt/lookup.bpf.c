/* lookup.bpf.c: a point lookup in the B+-tree of wt.h, from the first page
 * the application's cache does not hold down to the leaf, one page per read.
 *
 * Each invocation checks the page just read (magic, type, level, that it is
 * the block its parent named, slots and cells inside the page), then
 * binary-searches its variable-length keys: in an internal page for the last
 * separator <= key, whose child it reads next (4096 bytes); in a leaf for the
 * key itself, whose value it locates for the caller. Levels fall by one per
 * hop, so a walk ends after at most 256 pages even in a corrupt file, and the
 * resubmission limit bounds it anyway.
 */
#include "wt.h"

#ifndef WT_NO_XRP_ENTRY
char LICENSE[] SEC("license") = "GPL";
#endif

static __always_inline int wt_fail(struct bpf_xrp *ctx, struct WtQuery *q, __u32 off)
{
	q->error = WT_ERR_PAGE;
	q->error_off = off;
	ctx->done = 1;
	return WT_ERR_PAGE;
}

static __always_inline __u32 wt_u16(const char *page, __u32 off)
{
	return *(const __u16 *)(page + (off & 0xffe));
}

static __always_inline __u32 wt_u32(const char *page, __u32 off)
{
	return *(const __u32 *)(page + (off & 0xffc));
}

/* Compares the page's key (len bytes at off, 8-aligned, zero-padded) with the
 * query's (zero-padded): <0, 0, >0. Words are compared as big-endian u64s, so
 * the order is the bytes' unsigned lexicographic order; up to the shorter
 * key's last word the padding of the shorter one is zero, so equal words
 * leave the lengths to decide. */
static __always_inline int wt_compare(const char *page, __u32 off, __u32 len, const struct WtQuery *q)
{
	__u32 qlen = q->key_len;
	__u32 n = len < qlen ? len : qlen;
	for (__u32 w = 0; w < WT_KEY_WORDS; w++) {
		if (w * 8 >= n)
			break;
		__u64 a = __builtin_bswap64(*(const __u64 *)(page + ((off + w * 8) & 0xff8)));
		__u64 b = __builtin_bswap64(*(const __u64 *)(q->key + ((w * 8) & (WT_KEY_MAX - 8))));
		if (a != b)
			return a < b ? -1 : 1;
	}
	return (int)len - (int)qlen;
}

/* The offset of slot i's cell, or 0 if it is not a cell of `hdr` header bytes inside the page. */
static __always_inline __u32 wt_cell(const char *page, __u32 i, __u32 hdr)
{
	__u32 off = wt_u16(page, WT_HEADER_BYTES + 2 * (i & 0xff));
	if (off < WT_HEADER_BYTES || off > WT_PAGE_BYTES - hdr || (off & 7) != 0)
		return 0;
	__u32 key_len = wt_u16(page, off);
	if (key_len > WT_KEY_MAX || off + hdr + key_len > WT_PAGE_BYTES)
		return 0;
	return off;
}

static __always_inline int wt_lookup_body(struct bpf_xrp *ctx)
{
	struct WtQuery *q = (struct WtQuery *)ctx->scratch;
	const char *page = ctx->data;

	if (q->magic != WT_QUERY_MAGIC || q->key_len == 0 || q->key_len > WT_KEY_MAX || q->done != 0) {
		q->error = WT_ERR_QUERY;
		ctx->done = 1;
		return WT_ERR_QUERY;
	}
	q->hops += 1;
	__u32 level = q->level;
	__u32 type = (__u8)page[4];
	if (wt_u32(page, 0) != WT_PAGE_MAGIC)
		return wt_fail(ctx, q, 0);
	if ((__u8)page[5] != level || type != (level == 0 ? WT_TYPE_LEAF : WT_TYPE_INTERNAL))
		return wt_fail(ctx, q, 4);
	if (wt_u32(page, 12) != q->cur_block)
		return wt_fail(ctx, q, 12);
	__u32 n = wt_u16(page, 6);
	if (n > WT_ENTRIES_MAX)
		return wt_fail(ctx, q, 6);

	if (level > 0) {
		/* the last entry whose separator is <= key; entry 0 is minus infinity */
		if (n == 0)
			return wt_fail(ctx, q, 6);
		q->lo = 1;
		q->hi = (__s32)n - 1;
		__s32 hit = 0;
		for (int step = 0; step < WT_SEARCH_STEPS + 1; step++) {
			/* read the bounds back from scratch (not the values just stored):
			 * the verifier then tracks no range for them, so the paths of the
			 * search's outcomes meet again at the next step */
			asm volatile("" ::: "memory");
			__s32 lo = q->lo, hi = q->hi;
			if (lo > hi)
				break;
			__s32 mid = (lo + hi) >> 1;
			q->probe = (__u32)mid;
			__u32 off = wt_cell(page, q->probe, WT_INTERNAL_CELL);
			if (off == 0)
				return wt_fail(ctx, q, WT_HEADER_BYTES + 2 * ((__u32)mid & 0xff));
			if (wt_compare(page, off + WT_INTERNAL_CELL, wt_u16(page, off), q) <= 0) {
				hit = mid;
				q->lo = mid + 1;
			} else {
				q->hi = mid - 1;
			}
		}
		q->probe = (__u32)hit;
		__u32 slot = q->probe;
		__u32 off = wt_cell(page, slot, WT_INTERNAL_CELL);
		if (off == 0)
			return wt_fail(ctx, q, WT_HEADER_BYTES + 2 * (slot & 0xff));
		__u32 child = wt_u32(page, off + 4);
		if (child < WT_FIRST_PAGE_BLOCK || child >= (1u << 20) * 4)
			return wt_fail(ctx, q, off + 4);
		q->cur_block = child;
		q->checksum = wt_u32(page, off + 8);
		q->level = level - 1;
		ctx->next_addr[0] = (__u64)child * WT_PAGE_BYTES;
		ctx->size[0] = WT_PAGE_BYTES;
		return 0;
	}

	/* the leaf: the key itself */
	q->lo = 0;
	q->hi = (__s32)n - 1;
	q->found = 0;
	for (int step = 0; step < WT_SEARCH_STEPS + 1; step++) {
		/* read the bounds back from scratch (not the values just stored):
		 * the verifier then tracks no range for them, so the paths of the
		 * search's outcomes meet again at the next step */
		asm volatile("" ::: "memory");
		__s32 lo = q->lo, hi = q->hi;
		if (lo > hi)
			break;
		__s32 mid = (lo + hi) >> 1;
		q->probe = (__u32)mid;
		__u32 off = wt_cell(page, q->probe, WT_LEAF_CELL);
		if (off == 0)
			return wt_fail(ctx, q, WT_HEADER_BYTES + 2 * ((__u32)mid & 0xff));
		__u32 key_len = wt_u16(page, off);
		int c = wt_compare(page, off + WT_LEAF_CELL, key_len, q);
		if (c == 0) {
			__u32 value_off = off + WT_LEAF_CELL + ((key_len + 7) & ~7u);
			__u32 value_len = wt_u16(page, off + 2);
			if (value_off + value_len > WT_PAGE_BYTES)
				return wt_fail(ctx, q, off + 2);
			q->found = 1;
			q->value_off = value_off;
			q->value_len = value_len;
			break;
		}
		if (c < 0)
			q->lo = mid + 1;
		else
			q->hi = mid - 1;
	}
	q->done = 1;
	ctx->done = 1;
	return 0;
}

#ifndef WT_NO_XRP_ENTRY
SEC("xrp")
int wt_lookup(struct bpf_xrp *ctx)
{
	return wt_lookup_body(ctx);
}
#endif
