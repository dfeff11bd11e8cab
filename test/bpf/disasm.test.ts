import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assemble } from '../../src/bpf/asm/asm.ts';
import { decodeInsn, disassemble, disassembleInsn, formatUbpf } from '../../src/bpf/asm/disasm.ts';
import { decode, encode } from '../../src/bpf/isa.ts';
import type { Insn } from '../../src/bpf/isa.ts';
import { Prng } from '../../src/base/prng.ts';

const bytesOf = (insns: readonly Insn[]): string => Buffer.from(encode(insns)).toString('hex');

/** What each form prints as; every line is also fed back to the assembler. */
const EXPECTED: [source: string, printed: string][] = [
  ['ldxw %r0, [%r1+4]', 'r0 = *(u32 *)(r1 + 4)'],
  ['ldxdw %r0, [%r10-8]', 'r0 = *(u64 *)(r10 - 8)'],
  ['ldxb %r2, [%r1]', 'r2 = *(u8 *)(r1 + 0)'],
  ['ldxsb %r0, [%r1]', 'r0 = *(s8 *)(r1 + 0)'],
  ['ldxsh %r0, [%r1+2]', 'r0 = *(s16 *)(r1 + 2)'],
  ['ldxsw %r0, [%r1-4]', 'r0 = *(s32 *)(r1 - 4)'],
  ['stxw [%r10-4], %r1', '*(u32 *)(r10 - 4) = r1'],
  ['sth [%r1+2], 0x1234', '*(u16 *)(r1 + 2) = 4660'],
  ['stdw [%r10-8], -1', '*(u64 *)(r10 - 8) = -1'],
  ['mov32 %r0, %r1', 'w0 = w1'],
  ['mov %r0, %r1', 'r0 = r1'],
  ['mov32 %r0, 0xffffffff', 'w0 = -1'],
  ['add32 %r0, 1', 'w0 += 1'],
  ['sub %r1, %r2', 'r1 -= r2'],
  ['mul32 %r1, 3', 'w1 *= 3'],
  ['div %r1, %r2', 'r1 /= r2'],
  ['mod32 %r1, 7', 'w1 %= 7'],
  ['or %r1, 16', 'r1 |= 16'],
  ['and %r1, %r2', 'r1 &= r2'],
  ['lsh %r1, 3', 'r1 <<= 3'],
  ['rsh32 %r1, %r2', 'w1 >>= w2'],
  ['arsh %r1, 3', 'r1 s>>= 3'],
  ['xor32 %r1, %r2', 'w1 ^= w2'],
  ['sdiv %r0, %r1', 'r0 s/= r1'],
  ['smod32 %r0, 3', 'w0 s%= 3'],
  ['neg %r2', 'r2 = -r2'],
  ['neg32 %r2', 'w2 = -w2'],
  ['movsx864 %r0, %r1', 'r0 = (s8)r1'],
  ['movsx1632 %r0, %r1', 'w0 = (s16)w1'],
  ['movsx3264 %r0, %r1', 'r0 = (s32)r1'],
  ['be16 %r0', 'r0 = be16 r0'],
  ['le64 %r3', 'r3 = le64 r3'],
  ['bswap16 %r0', 'r0 = bswap16 r0'],
  ['jgt %r1, 5, +3', 'if r1 > 5 goto +3'],
  ['jsgt32 %r1, %r2, -5', 'if w1 s> w2 goto -5'],
  ['jset %r1, 0x80000000, +1', 'if r1 & -2147483648 goto +1'],
  ['jne32 %r1, -1, +0', 'if w1 != -1 goto +0'],
  ['jsle %r3, %r4, +7', 'if r3 s<= r4 goto +7'],
  ['ja +2', 'goto +2'],
  ['ja -1', 'goto -1'],
  ['ja32 +70000', 'gotol +70000'],
  ['call 5', 'call 5'],
  ['call local +3', 'call pc+3'],
  ['call local -9', 'call pc-9'],
  ['call %r2', 'callx r2'],
  ['call runtime 12', 'call btf_id(12)'],
  ['exit', 'exit'],
  ['lddw %r1, 0x1122334455667788', 'r1 = 0x1122334455667788 ll'],
  ['lddw %r1, 0', 'r1 = 0x0 ll'],
  ['lddw %r1, map_by_fd(3)', 'r1 = map_by_fd(3) ll'],
  ['lddw %r1, map_val(map_by_fd(3)) + 16', 'r1 = map_val(map_by_fd(3)) + 16 ll'],
  ['lddw %r1, map_val(map_by_idx(0)) - 8', 'r1 = map_val(map_by_idx(0)) - 8 ll'],
  ['lddw %r1, code_addr(4)', 'r1 = code_addr(4) ll'],
  ['lock add [%r1], %r2', 'lock *(u64 *)(r1 + 0) += r2'],
  ['lock add32 [%r1], %r2', 'lock *(u32 *)(r1 + 0) += w2'],
  ['lock or [%r1+8], %r2', 'lock *(u64 *)(r1 + 8) |= r2'],
  ['lock and32 [%r1], %r2', 'lock *(u32 *)(r1 + 0) &= w2'],
  ['lock xor [%r1], %r2', 'lock *(u64 *)(r1 + 0) ^= r2'],
  ['lock fetch add [%r1], %r0', 'r0 = atomic_fetch_add((u64 *)(r1 + 0), r0)'],
  ['lock fetch or32 [%r1+4], %r3', 'w3 = atomic_fetch_or((u32 *)(r1 + 4), w3)'],
  ['lock fetch and [%r1], %r3', 'r3 = atomic_fetch_and((u64 *)(r1 + 0), r3)'],
  ['lock fetch xor32 [%r1], %r3', 'w3 = atomic_fetch_xor((u32 *)(r1 + 0), w3)'],
  ['lock xchg [%r1+8], %r3', 'r3 = xchg_64(r1 + 8, r3)'],
  ['lock xchg32 [%r1+8], %r3', 'w3 = xchg32_32(r1 + 8, w3)'],
  ['lock cmpxchg [%r1+8], %r3', 'r0 = cmpxchg_64(r1 + 8, r0, r3)'],
  ['lock cmpxchg32 [%r1+8], %r3', 'w0 = cmpxchg32_32(r1 + 8, w0, w3)'],
  ['ldabsw 4', 'r0 = *(u32 *)skb[4]'],
  ['ldindh %r2, 0', 'r0 = *(u16 *)skb[r2]'],
  ['ldindb %r2, -3', 'r0 = *(u8 *)skb[r2 - 3]'],
];

test('each form prints in the llvm-objdump style, and the printed line assembles back', () => {
  for (const [source, printed] of EXPECTED) {
    const insns = assemble(source);
    assert.equal(disassembleInsn(insns, 0), printed, source);
    assert.equal(bytesOf(assemble(printed, { syntax: 'llvm' })), bytesOf(insns), printed);
    assert.equal(bytesOf(assemble(formatUbpf(insns), { syntax: 'ubpf' })), bytesOf(insns), formatUbpf(insns));
  }
});

test('invalid slots print as invalid, naming the opcode or the reserved field', () => {
  const one = (code: number, dst = 0, src = 0, off = 0, imm = 0): string => disassembleInsn([{ code, dst, src, off, imm }], 0);
  assert.equal(one(0x00), 'invalid opcode 0x00');
  assert.equal(one(0xff), 'invalid opcode 0xff');
  assert.equal(one(0x8f), 'invalid opcode 0x8f'); // neg with X source
  assert.equal(one(0xdf), 'invalid opcode 0xdf'); // bswap with X source
  assert.equal(one(0x86), 'invalid opcode 0x86'); // call in JMP32
  assert.equal(one(0x99), 'invalid opcode 0x99'); // sign-extending 64-bit load
  assert.equal(one(0xe7), 'invalid opcode 0xe7'); // ALU op 0xe0
  assert.equal(one(0x38), 'invalid opcode 0x38'); // legacy abs dw
  assert.equal(one(0xd3), 'invalid opcode 0xd3'); // atomic on bytes
  assert.equal(one(0x07, 0, 3, 0, 1), 'invalid insn (code 0x07 dst 0 src 3 off 0 imm 1): src must be 0');
  assert.equal(one(0x0f, 0, 1, 0, 5), 'invalid insn (code 0x0f dst 0 src 1 off 0 imm 5): imm must be 0');
  assert.match(one(0xbf, 0, 1, 7), /sign-extension width 7/);
  assert.match(one(0xbc, 0, 1, 32), /sign-extension width 32 \(must be 8, 16\)/);
  assert.match(one(0x3f, 0, 1, 2), /off must be 0 or 1/);
  assert.match(one(0xdc, 0, 0, 0, 8), /byte swap width/);
  assert.match(one(0x95, 1), /all fields must be 0/);
  assert.match(one(0x85, 0, 3, 0, 1), /src must be 0 \(helper\), 1 \(local\) or 2 \(BTF id\)/);
  assert.match(one(0xdb, 1, 2, 0, 0x02), /unknown atomic operation imm 0x02/);
  assert.match(one(0x18, 1), /lddw needs a second slot/);
  assert.match(disassembleInsn([{ code: 0x18, dst: 1, src: 0, off: 0, imm: 1 }, { code: 0x07, dst: 0, src: 0, off: 0, imm: 0 }], 0), /second slot of lddw/);
  assert.match(disassembleInsn([{ code: 0x18, dst: 1, src: 1, off: 0, imm: 1 }, { code: 0, dst: 0, src: 0, off: 0, imm: 9 }], 0), /second slot imm must be 0/);
  assert.equal(disassembleInsn([], 0), 'no instruction at slot 0');
  assert.equal(disassembleInsn([{ code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }], -1), 'no instruction at slot -1');
});

test('disassemble numbers lines by slot and skips lddw tails; formatUbpf keeps invalid slots as .raw', () => {
  const insns = assemble('lddw %r1, 0x100000002\nmov %r0, 1\n.raw 0x00000000000000ff\nexit');
  assert.deepEqual(disassemble(insns), ['   0: r1 = 0x100000002 ll', '   2: r0 = 1', '   3: invalid opcode 0xff', '   4: exit']);
  assert.equal(formatUbpf(insns), 'lddw %r1, 0x100000002\nmov %r0, 1\n.raw 0x00000000000000ff\nexit');
  // A truncated lddw at the end is reported, not read past.
  const truncated = [{ code: 0x18, dst: 0, src: 0, off: 0, imm: 1 }];
  assert.deepEqual(disassemble(truncated), ['   0: invalid insn (code 0x18 dst 0 src 0 off 0 imm 1): lddw needs a second slot']);
  assert.equal(bytesOf(assemble(formatUbpf(truncated))), bytesOf(truncated));
});

/** A random slot biased towards valid encodings (fields are often zero, widths often legal). */
function randomSlot(prng: Prng): Insn {
  const pickField = (random: () => number, specials: number[]): number => {
    const r = prng.nextBelow(6);
    if (r === 0) return random();
    if (r === 1) return specials[prng.nextBelow(specials.length)]!;
    return 0;
  };
  return {
    code: prng.nextBelow(256),
    dst: prng.nextBelow(16),
    src: pickField(() => prng.nextBelow(16), [1, 2, 10]),
    off: pickField(() => (prng.nextU32() << 16) >> 16, [1, 8, 16, 32, -1]),
    imm: pickField(() => prng.nextU32() | 0, [16, 32, 64, 0x01, 0x41, 0xe1, 0xf1, -1]),
  };
}

function randomProgram(prng: Prng, length: number): Insn[] {
  const insns: Insn[] = [];
  while (insns.length < length) {
    const s = randomSlot(prng);
    insns.push(s);
    if (s.code === 0x18 && prng.nextBelow(4) !== 0) insns.push({ code: 0, dst: 0, src: 0, off: 0, imm: prng.nextU32() | 0 });
  }
  return insns;
}

test('10,000 random slots: the disassembler never throws; valid ones round-trip through both syntaxes', () => {
  const seed = 7;
  const prng = new Prng(seed);
  const insns = randomProgram(prng, 10_000);
  let valid = 0;
  for (let pc = 0; pc < insns.length; pc++) {
    let text = '';
    assert.doesNotThrow(() => {
      text = disassembleInsn(insns, pc);
    }, `seed ${seed} slot ${pc}`);
    assert.ok(text.length > 0);
    const decoded = decodeInsn(insns, pc);
    if (decoded.kind === 'invalid') {
      assert.ok(text.startsWith('invalid') || text.startsWith('no instruction'), text);
      continue;
    }
    valid++;
    const width = decoded.kind === 'lddw' ? 2 : 1;
    const original = bytesOf(insns.slice(pc, pc + width));
    assert.equal(bytesOf(assemble(text, { syntax: 'llvm' })), original, `seed ${seed} slot ${pc}: ${text}`);
  }
  // Without enough valid slots the round trip would prove little.
  assert.ok(valid > 2000, `only ${valid} valid slots`);
  if (process.env.XRP_VERBOSE) console.log(`${valid} valid slots`);
  // Whole-program printers: never throw, and the uBPF form reproduces every slot, invalid ones included.
  assert.ok(disassemble(insns).length > 0);
  assert.equal(bytesOf(assemble(formatUbpf(insns), { syntax: 'ubpf' })), bytesOf(insns), `seed ${seed}`);
});

test('the disassembler survives slots that are not well-formed objects', () => {
  const junk = [
    { code: Number.NaN, dst: -1, src: 99, off: 1e9, imm: 2 ** 40 },
    { code: 0x18, dst: 1, src: 0, off: 0, imm: 1 },
    undefined,
    null,
    { code: '0x95' },
  ] as unknown as Insn[];
  for (let pc = -1; pc <= junk.length; pc++) {
    assert.equal(typeof disassembleInsn(junk, pc), 'string');
    assert.doesNotThrow(() => decodeInsn(junk, pc));
  }
  assert.equal(decodeInsn(junk, 2).kind, 'invalid');
  assert.match(disassembleInsn(junk, 1), /lddw needs a second slot/);
  assert.equal(disassemble(junk).length > 0, true);
  const throwing = [Object.defineProperty({}, 'code', { get: () => { throw new Error('boom'); } })] as unknown as Insn[];
  assert.equal(disassembleInsn(throwing, 0), 'invalid insn at slot 0');
  assert.deepEqual(disassemble(throwing), ['   0: invalid insn at slot 0']);
});

// ---------------------------------------------------------------------------------------
// Against llvm-objdump on clang-compiled objects

function haveTool(name: string): boolean {
  const r = spawnSync(name, ['--version'], { encoding: 'utf8' });
  return r.status === 0;
}
const haveLlvm = haveTool('clang') && haveTool('llvm-objdump');

/** C that makes clang emit most of the v1-v3 instruction set. */
const C_SOURCE = String.raw`
typedef unsigned long long u64; typedef long long s64; typedef unsigned int u32; typedef int s32;
typedef unsigned short u16; typedef short s16; typedef unsigned char u8; typedef signed char s8;
struct ctx { u64 a[8]; s32 w; s16 h; s8 b; u8 c; u32 v[8]; };
static __attribute__((noinline)) u64 sub(u64 x, u64 y) { return x * y + (x >> 3) - (y << 7); }
__attribute__((section("prog"))) int f(struct ctx *c) {
  u64 x = c->a[0], y = c->a[1];
  u32 w = c->w;
  if (x > 5) x += 7; else x -= y;
  if ((s64)y < -3) y = x / y;
  if ((s64)x >= (s64)y) y ^= 0x55aa;
  w = w * 3 + (w >> 2) - (w << 5);
  if ((s32)w < 10) w ^= 0x55; else w |= 0x100;
  if (w <= 77) w &= 0xff0;
  __sync_fetch_and_add(&c->a[2], x);
  __sync_fetch_and_add(&c->v[0], w);
  u64 old = __sync_fetch_and_or(&c->a[3], y);
  u64 o2 = __sync_val_compare_and_swap(&c->a[4], x, y);
  u64 o3 = __atomic_exchange_n(&c->a[5], x, __ATOMIC_SEQ_CST);
  __sync_fetch_and_and(&c->a[6], 3);
  __sync_fetch_and_xor(&c->a[7], o3);
  u32 x32 = 0;
#if __BPF_CPU_VERSION__ >= 3
  u32 f32 = __sync_fetch_and_add(&c->v[1], 5) + __sync_fetch_and_xor(&c->v[2], 9);
  u32 c32 = __sync_val_compare_and_swap(&c->v[3], f32, w);
  x32 = __atomic_exchange_n(&c->v[4], c32, __ATOMIC_SEQ_CST);
  __sync_fetch_and_or(&c->v[5], 7); __sync_fetch_and_and(&c->v[6], 7); __sync_fetch_and_xor(&c->v[7], 7);
#endif
  c->a[1] = __builtin_bswap64(x) + __builtin_bswap16(c->h) + __builtin_bswap32(w) + c->b;
  c->a[0] = 0x1122334455667788ULL + sub(x, old + o2) + c->h + (u64)-5;
  c->w = (s32)(y % 7) + x32;
  volatile char buf[16]; buf[3] = 4; buf[2] = c->b; ((volatile u16 *)buf)[3] = 0x1234; ((volatile u32 *)buf)[2] = 7;
  for (int i = 0; i < c->c; i++) x = x * 31 + c->v[i & 7];
  return (int)(x + y + w) + buf[3] + (int)(((s64)x) >> 5) + (x % y) + ((s64)y >> (x & 63));
}
`;

interface Listing {
  /** section name -> slot -> [hex bytes of the slot(s), text] */
  sections: Map<string, Map<number, { hex: string; text: string }>>;
}

function objdump(path: string, extra: string[] = []): Listing {
  const run = spawnSync('llvm-objdump', ['-d', ...extra, path], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const sections = new Map<string, Map<number, { hex: string; text: string }>>();
  let current: Map<number, { hex: string; text: string }> | undefined;
  for (const line of run.stdout.split('\n')) {
    const header = /^Disassembly of section (.+):$/.exec(line);
    if (header) {
      current = new Map();
      sections.set(header[1]!, current);
      continue;
    }
    const insn = /^\s+(\d+):\t([0-9a-f ]+)\t(.*)$/.exec(line);
    if (insn && current) current.set(Number(insn[1]), { hex: insn[2]!.replace(/ /g, ''), text: insn[3]!.trim() });
  }
  return { sections };
}

/** Compare our text with llvm-objdump's for one object; returns the number of lines compared. */
function compareWithObjdump(path: string): number {
  const plain = objdump(path);
  // objdump 14 decodes 32-bit atomics only with the alu32 feature on.
  const alu32 = objdump(path, ['--mattr=+alu32']);
  let compared = 0;
  for (const [section, lines] of plain.sections) {
    const hex = [...lines.values()].map((l) => l.hex).join('');
    const insns = decode(new Uint8Array(Buffer.from(hex, 'hex')));
    for (const [slot, { text }] of lines) {
      const mine = disassembleInsn(insns, slot);
      const where = `${path} ${section} slot ${slot}`;
      if (text === '<unknown>') {
        // Only 32-bit atomics are unknown to objdump 14 without alu32; they are checked below.
        assert.equal(insns[slot]!.code, 0xc3, `${where}: objdump cannot decode ${mine}`);
      }
      let theirs = text.replace(/\s+<[^<>]*>$/, '');
      if (insns[slot]!.code === 0xc3) theirs = alu32.sections.get(section)!.get(slot)!.text;
      const ll = /^(r\d+) = (\S+) ll$/.exec(mine);
      const theirLl = /^(r\d+) = (\S+) ll$/.exec(theirs);
      const localCall = /^call pc([+-]\d+)$/.exec(mine);
      if (ll && theirLl) {
        // We print 64-bit immediates in hex, objdump in signed decimal.
        assert.equal(ll[1], theirLl[1], where);
        assert.equal(BigInt.asUintN(64, BigInt(ll[2]!)), BigInt.asUintN(64, BigInt(theirLl[2]!)), where);
      } else if (localCall) {
        // objdump cannot tell local calls from helper calls: `call -1` (unrelocated).
        assert.equal(theirs, `call ${Number(localCall[1])}`, where);
      } else {
        assert.equal(mine, theirs, where);
      }
      compared++;
    }
  }
  return compared;
}

test('our text matches llvm-objdump line by line on clang-compiled code (v1, v2, v3)', { skip: haveLlvm ? false : 'clang or llvm-objdump not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xrp-disasm-'));
  try {
    writeFileSync(join(dir, 'f.c'), C_SOURCE);
    let compared = 0;
    for (const cpu of ['v1', 'v2', 'v3']) {
      const obj = join(dir, `f-${cpu}.o`);
      const cc = spawnSync('clang', ['-O2', '-target', 'bpf', `-mcpu=${cpu}`, '-c', join(dir, 'f.c'), '-o', obj], { encoding: 'utf8' });
      assert.equal(cc.status, 0, cc.stderr);
      compared += compareWithObjdump(obj);
    }
    assert.ok(compared > 300, `only ${compared} lines compared`);
    if (process.env.XRP_VERBOSE) console.log(`compared ${compared} lines`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('our text matches llvm-objdump on the checked-in BPF objects of the project', { skip: haveLlvm ? false : 'llvm-objdump not installed' }, () => {
  const root = fileURLToPath(new URL('../../bpf', import.meta.url));
  const objects: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.o')) objects.push(path);
    }
  };
  try {
    walk(root);
  } catch {
    // no bpf/ directory: nothing to compare
  }
  let compared = 0;
  for (const path of objects) compared += compareWithObjdump(path);
  if (objects.length > 0) assert.ok(compared > 0);
});
