/* verify.bpf.c: the structures' storage functions under the real Linux verifier.
 *
 * Linux has no XRP program type, so (as test/kv/kernel/verify.bpf.c) each
 * body is wrapped in a socket filter: struct bpf_xrp lives on the stack, and
 * data and scratch are 4096-byte array-map values, which the verifier
 * bounds-checks by the same rules as XRP's PTR_TO_MEM pages.
 * test/structures/kernel-verifier.test.ts loads it with bpftool.
 */
#define AC_NO_XRP_ENTRY
#define SL_NO_XRP_ENTRY
#include "../../../bpf/structures/array_chain.bpf.c"
#include "../../../bpf/structures/skiplist.bpf.c"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, char[XRP_PAGE_BYTES]);
} pages SEC(".maps");

static __always_inline int with_pages(int which)
{
	__u32 k0 = 0, k1 = 1;
	char *data = bpf_map_lookup_elem(&pages, &k0);
	char *scratch = bpf_map_lookup_elem(&pages, &k1);
	struct bpf_xrp ctx = {};

	if (!data || !scratch)
		return 0;
	ctx.data = data;
	ctx.scratch = scratch;
	if (which == 0)
		return array_chain_body(&ctx);
	return which == 1 ? sl_get_body(&ctx) : sl_range_body(&ctx);
}

SEC("socket")
int verify_array_chain(void *skb)
{
	return with_pages(0);
}

SEC("socket")
int verify_sl_get(void *skb)
{
	return with_pages(1);
}

SEC("socket")
int verify_sl_range(void *skb)
{
	return with_pages(2);
}
