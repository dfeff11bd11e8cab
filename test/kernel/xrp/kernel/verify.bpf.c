/* verify.bpf.c: bpf/xrp/walk.bpf.c under the real Linux verifier (see
 * test/helpers/kernel-wrap.h); test/kernel/xrp/kernel-verifier.test.ts loads it. */
#define WALK_NO_XRP_ENTRY
#include "../../../../bpf/xrp/walk.bpf.c"
#include "../../../helpers/kernel-wrap.h"

XRP_SOCKET_WRAPPER(verify_walk, walk_body)
