/* verify.bpf.c: the structures' storage functions under the real Linux
 * verifier (see test/helpers/kernel-wrap.h);
 * test/structures/kernel-verifier.test.ts loads it. */
#define AC_NO_XRP_ENTRY
#define SL_NO_XRP_ENTRY
#include "../../../bpf/structures/array_chain.bpf.c"
#include "../../../bpf/structures/skiplist.bpf.c"
#include "../../helpers/kernel-wrap.h"

XRP_SOCKET_WRAPPER(verify_array_chain, array_chain_body)
XRP_SOCKET_WRAPPER(verify_sl_get, sl_get_body)
XRP_SOCKET_WRAPPER(verify_sl_range, sl_range_body)
