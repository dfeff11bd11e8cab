/* kernel-wrap.h: runs an XRP storage function's body under the REAL Linux
 * verifier. Linux has no XRP program type, so XRP_SOCKET_WRAPPER(name, body)
 * defines a socket filter `name` that builds struct bpf_xrp on the stack with
 * data and scratch as 4096-byte array-map values, which the verifier
 * bounds-checks by the same rules as XRP's PTR_TO_MEM pages (variable offsets
 * must be proven inside the 4096 bytes). The stores the body makes into ctx
 * are kept (an empty asm takes ctx's address after the body): without it
 * clang drops them, and with them any code that only computes them (walk's
 * whole fan-out loop). Include it after the storage
 * function's source (compiled with its *_NO_XRP_ENTRY define).
 * test/helpers/kernel-verifier.ts builds and loads such files with bpftool.
 */
#ifndef XRP_TEST_KERNEL_WRAP_H
#define XRP_TEST_KERNEL_WRAP_H

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, char[XRP_PAGE_BYTES]);
} pages SEC(".maps");

#define XRP_SOCKET_WRAPPER(name, body)                                  \
	SEC("socket")                                                   \
	int name(void *skb)                                             \
	{                                                               \
		__u32 k0 = 0, k1 = 1;                                   \
		char *data = bpf_map_lookup_elem(&pages, &k0);          \
		char *scratch = bpf_map_lookup_elem(&pages, &k1);       \
		struct bpf_xrp ctx = {};                                \
		if (!data || !scratch)                                  \
			return 0;                                       \
		ctx.data = data;                                        \
		ctx.scratch = scratch;                                  \
		int ret = body(&ctx);                                   \
		/* the stores into ctx are results: keep them */       \
		asm volatile("" : : "r"(&ctx) : "memory");              \
		return ret;                                             \
	}

#endif
