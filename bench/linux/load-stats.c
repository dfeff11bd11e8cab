/* load-stats.c: loads every program of a BPF object into the running kernel
 * with verifier log level 4 (BPF_LOG_STATS only: no per-instruction log, so
 * the kernel's "verification time" is its verification, not its logging) and
 * prints one line per program: "name usec processed total_states peak_states".
 * Given program names after the object, loads only those (an object may hold
 * programs the kernel rejects). Built and run by bench/verifier-vs-linux.ts
 * (needs root):
 *   cc -O2 load-stats.c -lbpf -o load-stats && ./load-stats OBJECT.o [PROGRAM...] */
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROGS_MAX 32
#define LOG_BYTES 65536

int main(int argc, char **argv)
{
	static char logs[PROGS_MAX][LOG_BYTES];
	struct bpf_program *progs[PROGS_MAX];
	int n = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s OBJECT.o [PROGRAM...]\n", argv[0]);
		return 2;
	}
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || libbpf_get_error(obj)) {
		fprintf(stderr, "cannot open %s\n", argv[1]);
		return 1;
	}
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, obj) {
		if (n == PROGS_MAX)
			break;
		int wanted = argc == 2;
		for (int a = 2; a < argc; a++)
			wanted |= strcmp(argv[a], bpf_program__name(prog)) == 0;
		if (!wanted) {
			bpf_program__set_autoload(prog, false);
			continue;
		}
		bpf_program__set_log_level(prog, 4);
		bpf_program__set_log_buf(prog, logs[n], LOG_BYTES);
		progs[n++] = prog;
	}
	int err = bpf_object__load(obj);
	for (int i = 0; i < n; i++) {
		const char *t = strstr(logs[i], "verification time ");
		const char *p = strstr(logs[i], "processed ");
		const char *s = strstr(logs[i], "total_states ");
		const char *k = strstr(logs[i], "peak_states ");
		printf("%s %lu %lu %lu %lu\n", bpf_program__name(progs[i]), t ? strtoul(t + 18, NULL, 10) : 0UL, p ? strtoul(p + 10, NULL, 10) : 0UL,
		       s ? strtoul(s + 13, NULL, 10) : 0UL, k ? strtoul(k + 12, NULL, 10) : 0UL);
	}
	bpf_object__close(obj);
	if (err) {
		fprintf(stderr, "load failed: %d\n", err);
		return 1;
	}
	return 0;
}
