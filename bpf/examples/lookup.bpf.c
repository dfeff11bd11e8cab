/* lookup.bpf.c: a search in a block of sorted u64 keys, with a .text
 * subprogram (bpf-to-bpf call), global data (.rodata, .data, .bss) and maps.
 *
 * scratch[0..8) holds the key to find. The block holds 64 little-endian u64
 * keys. The program writes the index of the first key >= the wanted key to
 * scratch[8..16), counts visits in an array map and the indices found in a
 * hash map.
 */
#include "xrp.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} visits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u64);
	__type(value, __u32);
} found SEC(".maps");

const volatile __u32 keys_per_block = 64; /* .rodata */
__u64 calls = 0;                          /* .bss */
__u64 sentinel = 0xfeedfacecafebeefULL;   /* .data */

static __attribute__((noinline)) int lower_bound(const char *block, __u64 key)
{
	int i;

	for (i = 0; i < 64; i++) {
		if (i >= keys_per_block)
			break;
		if (*(const __u64 *)(block + ((i * 8) & XRP_PAGE_MASK)) >= key)
			return i;
	}
	return i;
}

SEC("xrp")
int lookup(struct bpf_xrp *ctx)
{
	__u64 key = *(__u64 *)(ctx->scratch + 0);
	__u32 zero = 0;
	__u64 *count;
	__u32 index;

	calls += 1;
	count = bpf_map_lookup_elem(&visits, &zero);
	if (count)
		*count += 1;
	index = lower_bound(ctx->data, key);
	bpf_map_update_elem(&found, &key, &index, BPF_ANY);
	*(__u64 *)(ctx->scratch + 8) = index;
	*(__u64 *)(ctx->scratch + 16) = sentinel;
	ctx->done = 1;
	return 0;
}
