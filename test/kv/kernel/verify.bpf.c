/* verify.bpf.c: the BPF-KV storage functions under the real Linux verifier
 * (see test/helpers/kernel-wrap.h); test/kv/kernel-verifier.test.ts loads it. */
#define KV_NO_XRP_ENTRY
#include "../../../bpf/kv/get.bpf.c"
#include "../../../bpf/kv/range.bpf.c"
#include "../../helpers/kernel-wrap.h"

XRP_SOCKET_WRAPPER(verify_kv_get, kv_get_body)
XRP_SOCKET_WRAPPER(verify_kv_range, kv_range_body)
