/* verify.bpf.c: the B+-tree lookup under the real Linux verifier (see
 * test/helpers/kernel-wrap.h); test/wt/kernel-verifier.test.ts loads it. */
#define WT_NO_XRP_ENTRY
#include "../../../bpf/wt/lookup.bpf.c"
#include "../../helpers/kernel-wrap.h"

XRP_SOCKET_WRAPPER(verify_wt_lookup, wt_lookup_body)
