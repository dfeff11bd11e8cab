/* verify.bpf.c: bpf/xrp/walk.bpf.c under the real Linux verifier.
 *
 * Linux has no XRP program type, so (as test/structures/kernel/verify.bpf.c)
 * the body is wrapped in a socket filter: struct bpf_xrp lives on the stack,
 * and data and scratch are 4096-byte array-map values, which the verifier
 * bounds-checks by the same rules as XRP's PTR_TO_MEM pages.
 * test/kernel/xrp/kernel-verifier.test.ts loads it with bpftool.
 */
#define WALK_NO_XRP_ENTRY
#include "../../../../bpf/xrp/walk.bpf.c"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, char[XRP_PAGE_BYTES]);
} pages SEC(".maps");

SEC("socket")
int verify_walk(void *skb)
{
	__u32 k0 = 0, k1 = 1;
	char *data = bpf_map_lookup_elem(&pages, &k0);
	char *scratch = bpf_map_lookup_elem(&pages, &k1);
	struct bpf_xrp ctx = {};

	if (!data || !scratch)
		return 0;
	ctx.data = data;
	ctx.scratch = scratch;
	return walk_body(&ctx);
}
