/* loader.bpf.c: loader test object. Legacy `maps` section definitions,
 * several program sections (socket, xdp, prog), two programs in one section,
 * nested .text subprograms, string constants for bpf_printk and helpers by id.
 * Not a storage function: it exists to exercise src/bpf/elf.ts.
 */
#include "xrp.h"

char _license[] SEC("license") = "GPL";

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") counters = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = 4,
	.value_size = 8,
	.max_entries = 8,
};

struct bpf_map_def SEC("maps") seen = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = 8,
	.value_size = 8,
	.max_entries = 16,
};

/* A BTF-style map next to the legacy ones, sized with key_size/value_size and flags. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(key_size, 16);
	__uint(value_size, 24);
	__uint(max_entries, 8);
	__uint(map_flags, 1);
} sized SEC(".maps");

static __attribute__((noinline)) __u64 mix(__u64 x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static __attribute__((noinline)) __u64 mix_twice(__u64 x)
{
	return mix(mix(x) + 1);
}

static __attribute__((noinline)) __u64 bump(__u32 slot)
{
	__u64 *value = bpf_map_lookup_elem(&counters, &slot);

	if (!value)
		return 0;
	*value += 1;
	return *value;
}

SEC("socket")
int count_socket(void *ctx)
{
	__u64 key = bpf_get_prandom_u32();
	__u64 one = 1;

	bpf_map_update_elem(&seen, &key, &one, BPF_ANY);
	bpf_printk("socket %llu", key);
	return (int)bump(0);
}

SEC("xdp")
int xdp_first(void *ctx)
{
	return (int)(mix_twice(bump(1)) & 0xffff);
}

SEC("xdp")
int xdp_second(void *ctx)
{
	bpf_printk("second %d", 2);
	return (int)bump(2);
}

SEC("prog")
int plain(void *ctx)
{
	return 42;
}

/* A global (non-static) subprogram: relocated against its FUNC symbol, not .text. */
__attribute__((noinline)) int global_twice(int x)
{
	return x * 2;
}

/* A string literal through a pointer lands in .rodata.str1.1 (a mergeable string section). */
static __attribute__((noinline)) int char_at(const char *s, unsigned long i)
{
	return s[i & 3];
}

SEC("tc")
int strings(void *ctx)
{
	return global_twice(char_at("hello", (unsigned long)ctx)) + global_twice(3);
}
