// The B+-tree lookup under the REAL Linux verifier (see
// test/helpers/kernel-verifier.ts): wt_lookup loads; a key compare that
// indexes the page without its mask does not.
import { test } from 'node:test';
import { checkUnderKernelVerifier } from '../helpers/kernel-verifier.ts';

// A key byte read at an offset only known to be < 4096 + 128: past the page.
const UNMASKED = `
#include "wt.h"
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, char[4096]); } pages SEC(".maps");
SEC("socket") int unmasked(void *skb)
{
	__u32 k0 = 0, k1 = 1;
	char *page = bpf_map_lookup_elem(&pages, &k0);
	struct WtQuery *q = bpf_map_lookup_elem(&pages, &k1);
	if (!page || !q) return 0;
	__u32 off = *(__u16 *)(page + 32) & 0xfff;
	__u32 i = q->key_len & 127;
	return page[off + i];
}
`;

test('wt_lookup loads under the running kernel\'s verifier (and an unmasked key read does not)', (t) => {
  checkUnderKernelVerifier(t, {
    tag: 'wt',
    source: 'test/wt/kernel/verify.bpf.c',
    includes: ['bpf/wt'],
    programs: ['verify_wt_lookup'],
    control: {
      source: UNMASKED,
      why: 'a page offset plus a key index can pass the page',
      log: /invalid access to map value|min value is outside|max value is outside|unbounded/,
    },
  });
});
