/* bpf/libbpf.h for the original authors' BPF-KV command-line tool: see bpf.h. */
#include "bpf.h"
