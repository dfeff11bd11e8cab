/* bpf/bpf_helpers.h for the original authors' BPF-KV programs (see
 * ../linux/bpf.h): they use SEC and nothing else of libbpf's header, and
 * bpf/include/xrp.h (already included by linux/bpf.h) declares SEC and the
 * helpers with libbpf's names, so this header adds nothing. Standing in for
 * libbpf's keeps the build independent of libbpf-dev and avoids declaring the
 * helpers twice. */
#ifndef XRP_COMPAT_ORIGINAL_BPF_HELPERS_H
#define XRP_COMPAT_ORIGINAL_BPF_HELPERS_H

#include "xrp.h"

#endif
