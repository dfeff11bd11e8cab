/* libbpf 0.x's bpf_prog_load for the original authors' BPF-KV tool (see
 * bpf/bpf.h): this host's kernel has no XRP program type, so loading one fails
 * with ENOSYS, and their load_bpf_program says so and exits. */
#include <errno.h>
#include "bpf/bpf.h"

int bpf_prog_load(const char *file, enum bpf_prog_type type, struct bpf_object **pobj, int *prog_fd)
{
	(void)file;
	(void)type;
	(void)pobj;
	(void)prog_fd;
	errno = ENOSYS;
	return -ENOSYS;
}
