// struct bpf_xrp, the context of a storage function: the x86-64 layout of the
// original XRP (bpf/include/xrp.h draws it), and the sizes of its pages.
//
//   done           s32 (+4 pad)   @0
//   next_addr[16]  u64            @8
//   size[16]       u64            @136
//   data           char *         @264   the block just read, at offset 0 of a 4096-byte page
//   scratch        char *         @272   the application's 4096-byte page

export const CTX_BYTES = 280;
export const CTX_DONE = 0;
export const CTX_NEXT_ADDR = 8;
export const CTX_SIZE = 136;
export const CTX_DATA = 264;
export const CTX_SCRATCH = 272;
/** Slots of next_addr[] and size[]: slot 0 continues the branch, 1..15 fan out. */
export const XRP_MAX_FANOUT = 16;
/** The data page and the scratch page. */
export const XRP_PAGE_BYTES = 4096;
