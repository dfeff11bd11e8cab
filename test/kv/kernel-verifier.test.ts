// The BPF-KV storage functions under the REAL Linux verifier (see
// test/helpers/kernel-verifier.ts): kv_get and kv_range load; an unbounded
// index into a page does not.
import { test } from 'node:test';
import { checkUnderKernelVerifier } from '../helpers/kernel-verifier.ts';

const UNBOUNDED = `
#include "xrp.h"
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, char[4096]); } pages SEC(".maps");
SEC("socket") int unmasked(void *skb)
{
	__u32 k = 0;
	char *scratch = bpf_map_lookup_elem(&pages, &k);
	if (!scratch) return 0;
	__u32 i = *(__u32 *)scratch;          /* an index from the page, never bounded */
	return scratch[8 + i];
}
`;

test('get and range load under the running kernel\'s verifier (and an unbounded index does not)', (t) => {
  checkUnderKernelVerifier(t, {
    tag: 'kv',
    source: 'test/kv/kernel/verify.bpf.c',
    programs: ['verify_kv_get', 'verify_kv_range'],
    control: { source: UNBOUNDED, why: 'an unbounded index must be rejected', log: /unbounded memory access|invalid access to map value|min value is outside/ },
  });
});
