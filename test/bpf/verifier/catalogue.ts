// The verifier's catalogue: small programs in assembler text (llvm-objdump
// syntax), each with the verdict it must get. `reject` is a fragment of the
// reason the verifier must give; absent means the program must be accepted.
// Unsafe and safe programs come in pairs of the same shape where possible.

import type { MapSpec } from '../../../src/bpf/elf/elf.ts';

export interface CatalogueCase {
  name: string;
  asm: string;
  type?: 'xrp' | 'mem';
  /** fragment of the rejection reason; undefined = must be accepted */
  reject?: string;
  /** instruction index the rejection must name */
  rejectPc?: number;
  memSizeBytes?: number;
  insnLimit?: number;
}

const spec = (index: number, name: string, type: number, key: number, value: number, readOnly = false): MapSpec => ({
  index,
  name,
  type,
  keySizeBytes: key,
  valueSizeBytes: value,
  maxEntries: 4,
  flags: 0,
  origin: 'btf',
  sectionName: '.maps',
  readOnly,
});

/** map 0: array u32 -> 16 bytes; map 1: hash u64 -> u64; map 2: read-only array (.rodata, 16 bytes) */
export const CATALOGUE_MAPS: MapSpec[] = [spec(0, 'arr', 2, 4, 16), spec(1, 'hash', 1, 8, 8), spec(2, '.rodata', 2, 4, 16, true)];

const DATA = 'r2 = *(u64 *)(r1 + 264)';
const SCRATCH = 'r2 = *(u64 *)(r1 + 272)';
const RET0 = 'r0 = 0\nexit';
const LOOKUP = `*(u32 *)(r10 - 4) = 0
r2 = r10
r2 += -4
r1 = map_by_idx(0) ll
call 1`;
/** n nested functions, each calling the next: a call chain of depth n */
const callChain = (n: number): string => {
  const lines: string[] = [];
  for (let k = 0; k < n - 1; k++) lines.push(`f${k}:`, `call f${k + 1}`, 'r0 = 0', 'exit');
  lines.push(`f${n - 1}:`, 'r0 = 0', 'exit');
  return lines.join('\n').replace(/call (f\d+)/g, (_m, l: string) => `call ${l}`);
};

export const UNSAFE: CatalogueCase[] = [
  // ---- data / scratch memory ----
  { name: 'data access with an unbounded offset (no mask)', asm: `${DATA}\nr3 = *(u64 *)(r2 + 0)\nr2 += r3\nr0 = *(u8 *)(r2 + 0)\n${RET0}`, reject: 'unbounded', rejectPc: 2 },
  { name: 'mask too wide for the page (& 0x1fff)', asm: `${DATA}\nr3 = *(u64 *)(r2 + 0)\nr3 &= 0x1fff\nr2 += r3\nr0 = *(u8 *)(r2 + 0)\n${RET0}`, reject: 'max value is outside of the allowed memory range', rejectPc: 4 },
  { name: 'off by one at the end of the page: u16 at offset & 0xfff', asm: `${DATA}\nr3 = *(u64 *)(r2 + 0)\nr3 &= 0xfff\nr2 += r3\nr0 = *(u16 *)(r2 + 0)\n${RET0}`, reject: 'outside of the allowed memory range' },
  { name: 'constant offset one past the page', asm: `${DATA}\nr0 = *(u8 *)(r2 + 4096)\n${RET0}`, reject: 'invalid access to memory, mem_size=4096 off=4096 size=1' },
  { name: 'u64 straddling the end of the page', asm: `${SCRATCH}\n*(u64 *)(r2 + 4092) = r1\n${RET0}`, reject: 'invalid access to memory' },
  { name: 'negative constant offset', asm: `${DATA}\nr0 = *(u8 *)(r2 - 1)\n${RET0}`, reject: 'off=-1' },
  { name: 'negative variable index (sign-extended byte)', asm: `${DATA}\nr3 = *(s8 *)(r2 + 0)\nr2 += r3\nr0 = *(u8 *)(r2 + 0)\n${RET0}`, reject: 'min value is negative' },
  { name: 'bounds check off by one (if r3 > 4089)', asm: `${DATA}\nr3 = *(u64 *)(r2 + 0)\nif r3 > 4089 goto out\nr2 += r3\nr0 = *(u64 *)(r2 + 0)\nout:\n${RET0}`, reject: 'outside of the allowed memory range' },
  { name: 'loop bound off by one (i <= 512 over u64 words)', asm: `${SCRATCH}\nr3 = 0\nr0 = 0\nloop:\nr4 = r2\nr5 = r3\nr5 <<= 3\nr4 += r5\nr6 = *(u64 *)(r4 + 0)\nr0 += r6\nr3 += 1\nif r3 <= 512 goto loop\nexit`, reject: 'invalid access to memory, mem_size=4096 off=4096 size=8' },
  { name: 'pointer stored into scratch', asm: `${SCRATCH}\n*(u64 *)(r2 + 0) = r2\n${RET0}`, reject: 'R2 leaks addr into mem' },
  { name: 'stack pointer stored into data', asm: `${DATA}\n*(u64 *)(r2 + 8) = r10\n${RET0}`, reject: 'R10 leaks addr into mem' },
  { name: 'misaligned atomic on scratch', asm: `${SCRATCH}\nr3 = 1\nlock *(u64 *)(r2 + 4) += r3\n${RET0}`, reject: 'misaligned' },
  // ---- context ----
  { name: 'write to ctx->data', asm: `*(u64 *)(r1 + 264) = r1\n${RET0}`, reject: 'data is read-only', rejectPc: 0 },
  { name: 'write a scalar to ctx->scratch', asm: `r2 = 0\n*(u64 *)(r1 + 272) = r2\n${RET0}`, reject: 'scratch is read-only' },
  { name: 'variable offset into the context', asm: `r2 = *(u32 *)(r1 + 0)\nr2 &= 8\nr1 += r2\nr0 = *(u64 *)(r1 + 8)\n${RET0}`, reject: 'variable ctx access' },
  { name: 'read of the padding after done', asm: `r0 = *(u32 *)(r1 + 4)\n${RET0}`, reject: 'invalid bpf_context access off=4 size=4' },
  { name: 'narrow read of next_addr[0]', asm: `r0 = *(u32 *)(r1 + 8)\n${RET0}`, reject: 'invalid bpf_context access off=8 size=4' },
  { name: 'read past the end of the context', asm: `r0 = *(u64 *)(r1 + 280)\n${RET0}`, reject: 'invalid bpf_context access off=280' },
  { name: 'pointer stored into next_addr[0]', asm: `*(u64 *)(r1 + 8) = r10\n${RET0}`, reject: 'R10 leaks addr into ctx' },
  { name: 'atomic add on ctx->done', asm: `r2 = 1\nlock *(u32 *)(r1 + 0) += r2\n${RET0}`, reject: 'BPF_ATOMIC stores into R1 ctx is not allowed' },
  // ---- registers ----
  { name: 'read of an uninitialised register', asm: `r0 = r5\nexit`, reject: 'R5 !read_ok', rejectPc: 0 },
  { name: 'exit without setting r0', asm: `exit`, reject: 'R0 !read_ok' },
  { name: 'caller-saved r1 used after a helper call', asm: `call 7\nr0 = *(u32 *)(r1 + 0)\nexit`, reject: 'R1 !read_ok', rejectPc: 1 },
  { name: 'pointer returned in r0', asm: `r0 = r1\nexit`, reject: 'R0 leaks addr as return value' },
  { name: 'data pointer returned in r0', asm: `r0 = *(u64 *)(r1 + 264)\nexit`, reject: 'R0 leaks addr as return value' },
  { name: 'write to the frame pointer', asm: `r10 = 0\n${RET0}`, reject: 'frame pointer is read only' },
  { name: 'dereference of a scalar', asm: `r1 = 4096\nr0 = *(u8 *)(r1 + 0)\nexit`, reject: "R1 invalid mem access 'scalar'" },
  { name: 'multiplying a pointer', asm: `r1 *= 2\n${RET0}`, reject: 'pointer arithmetic with *= operator prohibited' },
  { name: 'masking a pointer', asm: `r1 &= 0xff\n${RET0}`, reject: 'bitwise operator &= on pointer prohibited' },
  { name: '32-bit pointer arithmetic', asm: `w1 += 1\n${RET0}`, reject: '32-bit pointer arithmetic prohibited' },
  { name: 'partial copy of a pointer (w2 = w1)', asm: `w2 = w1\n${RET0}`, reject: 'partial copy of pointer' },
  // ---- stack ----
  { name: 'read of an uninitialised stack slot', asm: `r0 = *(u64 *)(r10 - 8)\nexit`, reject: 'invalid read from stack off -8+0 size 8' },
  { name: 'read of a half-initialised stack slot', asm: `*(u32 *)(r10 - 8) = 0\nr0 = *(u64 *)(r10 - 8)\nexit`, reject: 'invalid read from stack off -8+4 size 8' },
  { name: 'stack write beyond 512 bytes', asm: `*(u64 *)(r10 - 520) = r1\n${RET0}`, reject: 'invalid write to stack R10 off=-520 size=8' },
  { name: 'stack write above the frame pointer', asm: `r2 = 0\n*(u64 *)(r10 + 0) = r2\n${RET0}`, reject: 'invalid write to stack R10 off=0 size=8' },
  { name: 'narrow fill of a spilled pointer', asm: `*(u64 *)(r10 - 8) = r1\nr0 = *(u32 *)(r10 - 8)\nexit`, reject: 'invalid size of register fill' },
  // ---- control flow ----
  { name: 'unbounded loop (goto self)', asm: `r0 = 0\nloop:\nr0 = 0\ngoto loop`, reject: 'infinite loop detected' },
  { name: 'loop on a value it never changes', asm: `r0 = *(u32 *)(r1 + 0)\nloop:\nr2 = r0\nif r0 != 0 goto loop\nexit`, reject: 'infinite loop detected' },
  { name: 'loop whose counter overflows only after 2^64 steps', asm: `r0 = 0\nloop:\nr0 += 1\nif r0 != 0 goto loop\nexit`, reject: 'too complex', insnLimit: 20_000 },
  { name: 'jump into the middle of a 64-bit immediate', asm: `goto +1\nr0 = 0x1122334455667788 ll\n${RET0}`, reject: 'jump into the middle of ldimm64 insn 1', rejectPc: 0 },
  { name: 'unreachable code', asm: `r0 = 0\nexit\nr0 = 1\nexit`, reject: 'unreachable insn 2', rejectPc: 2 },
  { name: 'jump out of the program', asm: `goto +10\n${RET0}`, reject: 'jump out of range from insn 0 to 11' },
  { name: 'no final exit', asm: `r0 = 0`, reject: 'last insn is not an exit or jmp' },
  { name: 'empty program', asm: ``, reject: 'empty program' },
  { name: 'call chain of 9 frames', asm: callChain(9), reject: 'the call stack of 9 frames is too deep' },
  { name: 'recursion', asm: `call f\n${RET0}\nf:\ncall f\n${RET0}`, reject: 'recursive call' },
  { name: 'callee returns a pointer to its own stack', asm: `call f\nr0 = 0\nexit\nf:\nr0 = r10\nr0 += -8\nexit`, reject: 'cannot return stack pointer to the caller' },
  { name: 'caller reads the r0 of a callee that never set it', asm: `call f\nexit\nf:\nr1 = 1\nexit`, reject: 'R0 !read_ok', rejectPc: 1 },
  // ---- helpers and maps ----
  { name: 'helper called with a scalar where a map is expected', asm: `r1 = 0\nr2 = r10\ncall 1\n${RET0}`, reject: 'R1 type=scalar expected=map_ptr' },
  { name: 'map key on uninitialised stack', asm: `r2 = r10\nr2 += -4\nr1 = map_by_idx(0) ll\ncall 1\n${RET0}`, reject: 'invalid indirect read from stack' },
  { name: 'map value used without a null check', asm: `${LOOKUP}\nr0 = *(u64 *)(r0 + 0)\n${RET0}`, reject: "R0 invalid mem access 'map_value_or_null'" },
  { name: 'map value read past its end', asm: `${LOOKUP}\nif r0 == 0 goto out\nr0 = *(u64 *)(r0 + 16)\nout:\n${RET0}`, reject: 'invalid access to map value, value_size=16 off=16 size=8' },
  { name: 'arithmetic on a map value before the null check', asm: `${LOOKUP}\nr0 += 8\n${RET0}`, reject: 'pointer arithmetic on map_value_or_null prohibited' },
  { name: 'write into a read-only map (.rodata)', asm: `r1 = map_val(map_by_idx(2)) ll\nr2 = 0\n*(u64 *)(r1 + 0) = r2\n${RET0}`, reject: 'write into map forbidden' },
  { name: 'unknown helper', asm: `call 99\n${RET0}`, reject: 'invalid func unknown#99' },
  { name: 'printk with an unbounded size', asm: `r1 = map_val(map_by_idx(2)) ll\nr2 = *(u32 *)(r1 + 0)\ncall 6\n${RET0}`, reject: 'unbounded memory access' },
  { name: 'map index that does not exist', asm: `r1 = map_by_idx(7) ll\n${RET0}`, reject: 'map index 7 does not exist' },
  // ---- encoding ----
  { name: 'legacy packet access (LD_ABS)', asm: `.raw 0x0000000000000030\n${RET0}`, reject: 'BPF_LD_[ABS|IND] instructions not allowed' },
  { name: 'unknown opcode', asm: `.raw 0x00000000000000ff\n${RET0}`, reject: 'opcode 0xff' },
  { name: 'mem program reads one past its buffer', type: 'mem', memSizeBytes: 64, asm: `r0 = *(u8 *)(r1 + 64)\nexit`, reject: 'mem_size=64 off=64 size=1' },
];

export const SAFE: CatalogueCase[] = [
  { name: 'data access with a masked offset (& 0xfff)', asm: `${DATA}\nr3 = *(u64 *)(r2 + 0)\nr3 &= 0xfff\nr2 += r3\nr0 = *(u8 *)(r2 + 0)\n${RET0}` },
  { name: 'u64 at a masked, aligned offset (& 0xff8)', asm: `${DATA}\nr3 = *(u64 *)(r2 + 0)\nr3 &= 0xff8\nr2 += r3\nr0 = *(u64 *)(r2 + 0)\n${RET0}` },
  { name: 'bounds check exactly right (if r3 > 4088)', asm: `${DATA}\nr3 = *(u64 *)(r2 + 0)\nif r3 > 4088 goto out\nr2 += r3\nr0 = *(u64 *)(r2 + 0)\nout:\n${RET0}` },
  { name: 'last byte and last word of the page', asm: `${DATA}\nr0 = *(u8 *)(r2 + 4095)\nr3 = *(u64 *)(r2 + 4088)\n${SCRATCH}\n*(u64 *)(r2 + 4088) = r3\n${RET0}` },
  { name: 'loop over 31 node keys (i < 31)', asm: `${DATA}\nr3 = 0\nr0 = 0\nloop:\nr4 = r2\nr5 = r3\nr5 <<= 3\nr4 += r5\nr6 = *(u64 *)(r4 + 16)\nr0 += r6\nr3 += 1\nif r3 < 31 goto loop\nr0 = 0\nexit` },
  { name: 'loop over 512 u64 words of scratch (i < 512)', asm: `${SCRATCH}\nr3 = 0\nr0 = 0\nloop:\nr4 = r2\nr5 = r3\nr5 <<= 3\nr4 += r5\nr6 = *(u64 *)(r4 + 0)\nr0 += r6\nr3 += 1\nif r3 < 512 goto loop\nr0 = 0\nexit` },
  { name: 'scalar stored into scratch', asm: `${SCRATCH}\nr3 = *(u64 *)(r1 + 8)\n*(u64 *)(r2 + 0) = r3\n${RET0}` },
  { name: 'aligned atomic on scratch via mask', asm: `${SCRATCH}\nr3 = *(u64 *)(r2 + 0)\nr3 &= 0xff8\nr2 += r3\nr4 = 1\nlock *(u64 *)(r2 + 0) += r4\n${RET0}` },
  { name: 'context: done, next_addr[15], size[15], data, scratch', asm: `r2 = *(u32 *)(r1 + 0)\nr3 = *(u64 *)(r1 + 128)\n*(u64 *)(r1 + 128) = r3\nr3 = 512\n*(u64 *)(r1 + 256) = r3\nr4 = *(u64 *)(r1 + 264)\nr4 = *(u64 *)(r1 + 272)\n*(u32 *)(r1 + 0) = 1\n${RET0}` },
  { name: 'chain follower: next_addr[0], size[0], done', asm: `${DATA}\nr3 = *(u64 *)(r2 + 0)\nif r3 == 0 goto last\n*(u64 *)(r1 + 8) = r3\nr4 = 512\n*(u64 *)(r1 + 136) = r4\n${RET0}\nlast:\nr4 = 1\n*(u32 *)(r1 + 0) = r4\n${RET0}` },
  { name: 'return a scalar derived from data', asm: `${DATA}\nr0 = *(u32 *)(r2 + 0)\nexit` },
  { name: 'initialised stack read back', asm: `*(u32 *)(r10 - 8) = 0\n*(u32 *)(r10 - 4) = 1\nr0 = *(u64 *)(r10 - 8)\nexit` },
  { name: 'spilled pointer filled and dereferenced', asm: `*(u64 *)(r10 - 8) = r1\nr6 = *(u64 *)(r10 - 8)\nr2 = *(u64 *)(r6 + 264)\nr0 = *(u8 *)(r2 + 0)\nexit` },
  { name: 'stack at its deepest (fp-512)', asm: `*(u64 *)(r10 - 512) = r1\nr0 = 0\nexit` },
  { name: 'bounded loop with a counter spilled to the stack', asm: `r3 = 0\n*(u64 *)(r10 - 8) = r3\nloop:\nr3 = *(u64 *)(r10 - 8)\nr3 += 1\n*(u64 *)(r10 - 8) = r3\nif r3 < 10 goto loop\n${RET0}` },
  // clang drops the return value of a static function whose callers ignore it (Linux accepts this too)
  { name: 'callee without a return value, its r0 ignored by the caller', asm: `call f\nr0 = 0\nexit\nf:\nr1 = 1\nexit` },
  { name: 'bpf-to-bpf call writing the caller stack', asm: `r1 = r10\nr1 += -8\ncall f\nr0 = *(u64 *)(r10 - 8)\nexit\nf:\nr2 = 7\n*(u64 *)(r1 + 0) = r2\nr0 = 0\nexit` },
  { name: 'call chain of 8 frames', asm: callChain(8) },
  { name: 'map lookup with a null check, then update of the value', asm: `${LOOKUP}\nif r0 == 0 goto out\nr1 = *(u64 *)(r0 + 8)\nr1 += 1\n*(u64 *)(r0 + 8) = r1\nout:\n${RET0}` },
  { name: 'map value null check through a copy (r6 = r0)', asm: `${LOOKUP}\nr6 = r0\nif r6 != 0 goto found\n${RET0}\nfound:\nr0 = *(u64 *)(r0 + 0)\n${RET0}` },
  { name: 'hash map update with key and value on the stack', asm: `r2 = 5\n*(u64 *)(r10 - 8) = r2\n*(u64 *)(r10 - 16) = r2\nr2 = r10\nr2 += -8\nr3 = r10\nr3 += -16\nr1 = map_by_idx(1) ll\nr4 = 0\ncall 2\n${RET0}` },
  { name: 'printk of a .rodata string with a constant size', asm: `r1 = map_val(map_by_idx(2)) ll\nr2 = 12\nr3 = 0\ncall 6\n${RET0}` },
  { name: 'read of a read-only map value', asm: `r1 = map_val(map_by_idx(2)) + 8 ll\nr0 = *(u64 *)(r1 + 0)\nexit` },
  { name: 'sign-extended index checked >= 0', asm: `${DATA}\nr3 = *(s8 *)(r2 + 0)\nif r3 s< 0 goto out\nr2 += r3\nr0 = *(u8 *)(r2 + 0)\nout:\n${RET0}` },
  { name: '32-bit bound check (if w3 > 4095)', asm: `${DATA}\nr3 = *(u32 *)(r2 + 0)\nif w3 > 4095 goto out\nr2 += r3\nr0 = *(u8 *)(r2 + 0)\nout:\n${RET0}` },
  { name: 'bounds learned through a copy (r4 = r3)', asm: `${DATA}\nr3 = *(u64 *)(r2 + 0)\nr4 = r3\nif r4 > 4095 goto out\nr2 += r3\nr0 = *(u8 *)(r2 + 0)\nout:\n${RET0}` },
  { name: 'JSET: high bits clear means in bounds', asm: `${DATA}\nr3 = *(u16 *)(r2 + 0)\nif r3 & 0xf000 goto out\nr2 += r3\nr0 = *(u8 *)(r2 + 0)\nout:\n${RET0}` },
  { name: 'dead branch with an out-of-bounds access', asm: `${DATA}\nr3 = 5000\nif r3 < 4096 goto bad\n${RET0}\nbad:\nr0 = *(u8 *)(r2 + 4096)\nexit` },
  { name: 'division by zero is defined', asm: `r0 = *(u32 *)(r1 + 0)\nr0 /= 0\nr2 = 0\nr0 %= r2\nexit` },
  { name: 'modulo bounds an index', asm: `${DATA}\nr3 = *(u64 *)(r2 + 0)\nr3 %= 4096\nr2 += r3\nr0 = *(u8 *)(r2 + 0)\nexit` },
  { name: 'pointer difference is a scalar', asm: `r2 = r10\nr2 += -8\nr0 = r10\nr0 -= r2\nexit` },
  { name: 'mem program reads its last byte through r2', type: 'mem', memSizeBytes: 64, asm: `r3 = r2\nr3 += -1\nr1 += r3\nr0 = *(u8 *)(r1 + 0)\nexit` },
];
