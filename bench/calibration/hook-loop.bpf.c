#include <linux/bpf.h>
#define SEC(n) __attribute__((section(n), used))
/* ITER iterations of a body of dependent ALU ops and loads from the packet, the shape of a key search. */
SEC("xdp") int loop(struct xdp_md *ctx) {
  unsigned char *data = (unsigned char *)(long)ctx->data;
  unsigned char *end = (unsigned char *)(long)ctx->data_end;
  if (data + 512 > end) return 1;
  unsigned long acc = 0;
  for (int i = 0; i < ITER; i++) {
    unsigned long v = *(volatile unsigned long *)(data + ((i * 8) & 0x1f8));
    acc = (acc ^ v) + (unsigned long)i;
    if (acc & 1) acc >>= 1; else acc += 3;
  }
  return acc & 1;
}
char LICENSE[] SEC("license") = "GPL";
