// The structures' storage functions under the REAL Linux verifier (see
// test/helpers/kernel-verifier.ts): array_chain, sl_get and sl_range load; the
// array chain's hop without its mask does not.
import { test } from 'node:test';
import { checkUnderKernelVerifier } from '../helpers/kernel-verifier.ts';

// The array chain's hop with the mask removed: the element offset is only known to be < 8 * n.
const UNMASKED = `
#include "array_chain.h"
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, char[4096]); } pages SEC(".maps");
SEC("socket") int unmasked(void *skb)
{
	__u32 k0 = 0, k1 = 1;
	char *data = bpf_map_lookup_elem(&pages, &k0);
	struct ArrayChainQuery *q = bpf_map_lookup_elem(&pages, &k1);
	if (!data || !q || q->n_elems == 0 || q->index >= q->n_elems) return 0;
	__u64 value = *(__u64 *)(data + q->index * AC_ELEM_BYTES);
	q->index = (value * 2) % q->n_elems;
	return 0;
}
`;

test('array_chain, sl_get and sl_range load under the running kernel\'s verifier (and an unmasked hop does not)', (t) => {
  checkUnderKernelVerifier(t, {
    tag: 'structures',
    source: 'test/structures/kernel/verify.bpf.c',
    includes: ['bpf/structures'],
    programs: ['verify_array_chain', 'verify_sl_get', 'verify_sl_range'],
    control: {
      source: UNMASKED,
      why: 'an unmasked element offset must be rejected',
      log: /unbounded memory access|unbounded min value|invalid access to map value|min value is outside|max value is outside/,
    },
  });
});
