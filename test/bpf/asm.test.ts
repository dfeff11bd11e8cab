import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsmError, assemble, assembleProgram } from '../../src/bpf/asm/asm.ts';
import { rawWordsToBytes, readConformanceFile } from '../../src/bpf/conformance/file.ts';
import { disassemble, formatUbpf } from '../../src/bpf/asm/disasm.ts';
import { XrpError } from '../../src/base/errors.ts';
import { decode, encode } from '../../src/bpf/isa.ts';
import type { Insn } from '../../src/bpf/isa.ts';
import { generateProgram } from '../../src/testing/program-gen.ts';
import { buildBpfElf, kernelOracleUnavailable, wrapForXdp } from '../../src/testing/kernel-oracle.ts';
import { Prng } from '../../src/base/prng.ts';
import { CORPUS } from '../helpers/corpus.ts';

const haveCorpus = existsSync(CORPUS);

type Fields = [code: number, dst: number, src: number, off: number, imm: number];
const slot = ([code, dst, src, off, imm]: Fields): Insn => ({ code, dst, src, off, imm });
const bytesOf = (insns: readonly Insn[]): string => Buffer.from(encode(insns)).toString('hex');

/** Encodings written out from the RFC 9669 opcode tables, independent of the assembler's constants. */
const UBPF_CASES: [string, Fields][] = [
  ['mov %r0, 1', [0xb7, 0, 0, 0, 1]],
  ['mov32 %r1, 0xffffffff', [0xb4, 1, 0, 0, -1]],
  ['mov64 %r1, %r2', [0xbf, 1, 2, 0, 0]],
  ['add %r0, -3', [0x07, 0, 0, 0, -3]],
  ['add32 %r0, %r1', [0x0c, 0, 1, 0, 0]],
  ['sub %r3, 7', [0x17, 3, 0, 0, 7]],
  ['sub32 %r1, %r2', [0x1c, 1, 2, 0, 0]],
  ['mul %r1, 3', [0x27, 1, 0, 0, 3]],
  ['div %r1, %r2', [0x3f, 1, 2, 0, 0]],
  ['div32 %r1, 3', [0x34, 1, 0, 0, 3]],
  ['sdiv %r1, %r2', [0x3f, 1, 2, 1, 0]],
  ['sdiv32 %r1, -3', [0x34, 1, 0, 1, -3]],
  ['mod %r1, 3', [0x97, 1, 0, 0, 3]],
  ['smod32 %r1, %r2', [0x9c, 1, 2, 1, 0]],
  ['smod %r4, 5', [0x97, 4, 0, 1, 5]],
  ['or %r1, 0x10', [0x47, 1, 0, 0, 0x10]],
  ['and32 %r1, 0xff', [0x54, 1, 0, 0, 0xff]],
  ['lsh %r1, 3', [0x67, 1, 0, 0, 3]],
  ['rsh32 %r1, %r2', [0x7c, 1, 2, 0, 0]],
  ['xor %r1, %r2', [0xaf, 1, 2, 0, 0]],
  ['arsh %r1, 3', [0xc7, 1, 0, 0, 3]],
  ['arsh32 %r1, %r2', [0xcc, 1, 2, 0, 0]],
  ['neg %r2', [0x87, 2, 0, 0, 0]],
  ['neg32 %r2', [0x84, 2, 0, 0, 0]],
  ['movsx832 %r0, %r1', [0xbc, 0, 1, 8, 0]],
  ['movsx1632 %r4, %r3', [0xbc, 4, 3, 16, 0]],
  ['movsx864 %r6, %r5', [0xbf, 6, 5, 8, 0]],
  ['movsx1664 %r8, %r7', [0xbf, 8, 7, 16, 0]],
  ['movsx3264 %r0, %r9', [0xbf, 0, 9, 32, 0]],
  ['be16 %r0', [0xdc, 0, 0, 0, 16]],
  ['be64 %r2', [0xdc, 2, 0, 0, 64]],
  ['le32 %r3', [0xd4, 3, 0, 0, 32]],
  ['bswap16 %r0', [0xd7, 0, 0, 0, 16]],
  ['swap64 %r1', [0xd7, 1, 0, 0, 64]],
  ['ja +3', [0x05, 0, 0, 3, 0]],
  ['ja32 -2', [0x06, 0, 0, 0, -2]],
  ['jeq %r1, 5, +1', [0x15, 1, 0, 1, 5]],
  ['jeq %r1, %r2, +1', [0x1d, 1, 2, 1, 0]],
  ['jgt %r1, 5, +1', [0x25, 1, 0, 1, 5]],
  ['jge %r1, %r2, -1', [0x3d, 1, 2, -1, 0]],
  ['jset %r1, 0x80000000, +1', [0x45, 1, 0, 1, -0x80000000]],
  ['jne %r0, 15, +4', [0x55, 0, 0, 4, 15]],
  ['jsgt %r1, %r2, +1', [0x6d, 1, 2, 1, 0]],
  ['jsge %r1, -1, +1', [0x75, 1, 0, 1, -1]],
  ['jlt %r1, 5, +1', [0xa5, 1, 0, 1, 5]],
  ['jle %r1, %r2, +1', [0xbd, 1, 2, 1, 0]],
  ['jslt %r1, 5, +1', [0xc5, 1, 0, 1, 5]],
  ['jsle %r1, %r2, -1', [0xdd, 1, 2, -1, 0]],
  ['jeq32 %r1, 5, +1', [0x16, 1, 0, 1, 5]],
  ['jne32 %r1, %r2, +0', [0x5e, 1, 2, 0, 0]],
  ['jsle32 %r1, 7, +2', [0xd6, 1, 0, 2, 7]],
  ['jset32 %r1, %r2, +2', [0x4e, 1, 2, 2, 0]],
  ['call 5', [0x85, 0, 0, 0, 5]],
  ['call %r2', [0x8d, 2, 0, 0, 0]],
  ['call local +3', [0x85, 0, 1, 0, 3]],
  ['call local -4', [0x85, 0, 1, 0, -4]],
  ['call runtime 7', [0x85, 0, 2, 0, 7]],
  ['exit', [0x95, 0, 0, 0, 0]],
  ['ldxb %r0, [%r1+4]', [0x71, 0, 1, 4, 0]],
  ['ldxh %r0, [%r1+0x10]', [0x69, 0, 1, 16, 0]],
  ['ldxw %r0, [%r1]', [0x61, 0, 1, 0, 0]],
  ['ldxdw %r0, [%r10-8]', [0x79, 0, 10, -8, 0]],
  ['ldxsb %r0, [%r10-1]', [0x91, 0, 10, -1, 0]],
  ['ldxsh %r0, [%r10-2]', [0x89, 0, 10, -2, 0]],
  ['ldxsw %r0, [%r10-4]', [0x81, 0, 10, -4, 0]],
  ['stb [%r1+2], 0x11', [0x72, 1, 0, 2, 0x11]],
  ['sth [%r0], 0x1234', [0x6a, 0, 0, 0, 0x1234]],
  ['stw [%r10-4], 0x80000001', [0x62, 10, 0, -4, -0x7fffffff]],
  ['stdw [%r10-8], -1', [0x7a, 10, 0, -8, -1]],
  ['stxb [%r10-1], %r1', [0x73, 10, 1, -1, 0]],
  ['stxh [%r10-2], %r1', [0x6b, 10, 1, -2, 0]],
  ['stxw [%r10-4], %r1', [0x63, 10, 1, -4, 0]],
  ['stxdw [%r10-8], %r0', [0x7b, 10, 0, -8, 0]],
  ['lock add [%r10-8], %r1', [0xdb, 10, 1, -8, 0x00]],
  ['lock add32 [%r10-4], %r1', [0xc3, 10, 1, -4, 0x00]],
  ['lock fetch add [%r10-8], %r1', [0xdb, 10, 1, -8, 0x01]],
  ['lock or [%r10-8], %r1', [0xdb, 10, 1, -8, 0x40]],
  ['lock fetch or32 [%r10-4], %r3', [0xc3, 10, 3, -4, 0x41]],
  ['lock and [%r10-8], %r1', [0xdb, 10, 1, -8, 0x50]],
  ['lock fetch and32 [%r10-8], %r1', [0xc3, 10, 1, -8, 0x51]],
  ['lock xor32 [%r10-4], %r1', [0xc3, 10, 1, -4, 0xa0]],
  ['lock fetch xor [%r10-8], %r3', [0xdb, 10, 3, -8, 0xa1]],
  ['lock xchg [%r10-8], %r1', [0xdb, 10, 1, -8, 0xe1]],
  ['lock xchg32 [%r10-8], %r1', [0xc3, 10, 1, -8, 0xe1]],
  ['lock cmpxchg [%r10-8], %r1', [0xdb, 10, 1, -8, 0xf1]],
  ['lock cmpxchg32 [%r10-8], %r1', [0xc3, 10, 1, -8, 0xf1]],
  ['ldabsw 4', [0x20, 0, 0, 0, 4]],
  ['ldabsh 4', [0x28, 0, 0, 0, 4]],
  ['ldindb %r2, 4', [0x50, 0, 2, 0, 4]],
  ['.raw 0xfffffffffff821b7', [0xb7, 1, 2, -8, -1]],
];

const LLVM_CASES: [string, Fields][] = [
  ['r0 = 1', [0xb7, 0, 0, 0, 1]],
  ['w1 = -1', [0xb4, 1, 0, 0, -1]],
  ['w1 = 0xffffffff', [0xb4, 1, 0, 0, -1]],
  ['r1 = -2147483648', [0xb7, 1, 0, 0, -0x80000000]],
  ['r1 = r2', [0xbf, 1, 2, 0, 0]],
  ['w1 = w2', [0xbc, 1, 2, 0, 0]],
  ['r0 += -3', [0x07, 0, 0, 0, -3]],
  ['w0 += w1', [0x0c, 0, 1, 0, 0]],
  ['w0 += 1', [0x04, 0, 0, 0, 1]],
  ['r1 -= 1', [0x17, 1, 0, 0, 1]],
  ['r1 *= r2', [0x2f, 1, 2, 0, 0]],
  ['r1 /= 3', [0x37, 1, 0, 0, 3]],
  ['w1 s/= w2', [0x3c, 1, 2, 1, 0]],
  ['r1 s%= 3', [0x97, 1, 0, 1, 3]],
  ['r1 %= r2', [0x9f, 1, 2, 0, 0]],
  ['r1 |= 16', [0x47, 1, 0, 0, 16]],
  ['w1 &= 255', [0x54, 1, 0, 0, 255]],
  ['r1 <<= 3', [0x67, 1, 0, 0, 3]],
  ['w1 >>= w2', [0x7c, 1, 2, 0, 0]],
  ['r1 ^= r2', [0xaf, 1, 2, 0, 0]],
  ['r1 s>>= 3', [0xc7, 1, 0, 0, 3]],
  ['w1 s>>= w2', [0xcc, 1, 2, 0, 0]],
  ['r2 = -r2', [0x87, 2, 0, 0, 0]],
  ['w2 = -w2', [0x84, 2, 0, 0, 0]],
  ['r0 = (s8)r1', [0xbf, 0, 1, 8, 0]],
  ['w0 = (s16)w1', [0xbc, 0, 1, 16, 0]],
  ['r0 = (s32)r1', [0xbf, 0, 1, 32, 0]],
  ['r0 = be16 r0', [0xdc, 0, 0, 0, 16]],
  ['r0 = le64 r0', [0xd4, 0, 0, 0, 64]],
  ['r0 = bswap32 r0', [0xd7, 0, 0, 0, 32]],
  ['goto +3', [0x05, 0, 0, 3, 0]],
  ['goto -1 <LBB0_1>', [0x05, 0, 0, -1, 0]],
  ['gotol +70000', [0x06, 0, 0, 0, 70000]],
  ['if r1 == 5 goto +1', [0x15, 1, 0, 1, 5]],
  ['if r1 & r2 goto +1 <LBB0_3>', [0x4d, 1, 2, 1, 0]],
  ['if w1 s>= -1 goto pc+2', [0x76, 1, 0, 2, -1]],
  ['if r1 < 0x10 goto -1', [0xa5, 1, 0, -1, 16]],
  ['if w1 s> w2 goto -5', [0x6e, 1, 2, -5, 0]],
  ['if r3 s> -4 goto +3', [0x65, 3, 0, 3, -4]],
  ['if r5 <= r3 goto +14', [0xbd, 5, 3, 14, 0]],
  ['if w1 != 0 goto +18', [0x56, 1, 0, 18, 0]],
  ['call 5', [0x85, 0, 0, 0, 5]],
  ['call -1', [0x85, 0, 0, 0, -1]],
  ['call pc+3', [0x85, 0, 1, 0, 3]],
  ['call pc-4', [0x85, 0, 1, 0, -4]],
  ['callx r2', [0x8d, 2, 0, 0, 0]],
  ['call btf_id(9)', [0x85, 0, 2, 0, 9]],
  ['r0 = *(u32 *)(r1 + 4)', [0x61, 0, 1, 4, 0]],
  ['w0 = *(u32 *)(r1 + 4)', [0x61, 0, 1, 4, 0]],
  ['r0 = *(u8 *)(r1 + 0)', [0x71, 0, 1, 0, 0]],
  ['r0 = *(u16 *)(r10 - 2)', [0x69, 0, 10, -2, 0]],
  ['r0 = *(u64 *)(r1 +8)', [0x79, 0, 1, 8, 0]],
  ['r0 = *(s8 *)(r1 + 0)', [0x91, 0, 1, 0, 0]],
  ['r0 = *(s16 *)(r1 + 2)', [0x89, 0, 1, 2, 0]],
  ['r0 = *(s32 *)(r1 + 4)', [0x81, 0, 1, 4, 0]],
  ['*(u32 *)(r10 - 4) = r1', [0x63, 10, 1, -4, 0]],
  ['*(u8 *)(r1 + 2) = w3', [0x73, 1, 3, 2, 0]],
  ['*(u64 *)(r10 - 8) = -1', [0x7a, 10, 0, -8, -1]],
  ['*(u16 *)(r1 + 0) = 0xffff', [0x6a, 1, 0, 0, 0xffff]],
  ['*(u32 *)(r10 -8) = 0xffffffff', [0x62, 10, 0, -8, -1]],
  ['lock *(u64 *)(r1 + 0) += r2', [0xdb, 1, 2, 0, 0x00]],
  ['lock *(u32 *)(r1 + 8) |= w2', [0xc3, 1, 2, 8, 0x40]],
  ['lock *(u64 *)(r1 - 8) &= r2', [0xdb, 1, 2, -8, 0x50]],
  ['lock *(u32 *)(r1 + 0) ^= r2', [0xc3, 1, 2, 0, 0xa0]],
  ['r0 = atomic_fetch_add((u64 *)(r1 + 0), r0)', [0xdb, 1, 0, 0, 0x01]],
  ['w2 = atomic_fetch_xor((u32 *)(r1 + 4), w2)', [0xc3, 1, 2, 4, 0xa1]],
  ['r5 = atomic_fetch_and((u64 *)(r2 + 0), r5)', [0xdb, 2, 5, 0, 0x51]],
  ['r1 = atomic_fetch_or((u64 *)(r7 + 24), r1)', [0xdb, 7, 1, 24, 0x41]],
  ['r3 = xchg_64(r1 + 8, r3)', [0xdb, 1, 3, 8, 0xe1]],
  ['w3 = xchg32_32(r1 + 8, w3)', [0xc3, 1, 3, 8, 0xe1]],
  ['r0 = cmpxchg_64(r1 + 8, r0, r3)', [0xdb, 1, 3, 8, 0xf1]],
  ['w0 = cmpxchg32_32(r1 + 8, w0, w3)', [0xc3, 1, 3, 8, 0xf1]],
  ['r1 = atomic64_xchg((u64 *)(r10 -8), r1)', [0xdb, 10, 1, -8, 0xe1]],
  ['r0 = atomic64_cmpxchg((u64 *)(r10 -8), r0, r1)', [0xdb, 10, 1, -8, 0xf1]],
  ['w0 = atomic_cmpxchg((u32 *)(r10 -8), w0, w1)', [0xc3, 10, 1, -8, 0xf1]],
  ['r0 = *(u8 *)skb[4]', [0x30, 0, 0, 0, 4]],
  ['r0 = *(u32 *)skb[r2 + 8]', [0x40, 0, 2, 0, 8]],
  ['r0 = *(u16 *)skb[r3]', [0x48, 0, 3, 0, 0]],
  ['exit', [0x95, 0, 0, 0, 0]],
  ['  12: r0 = 1', [0xb7, 0, 0, 0, 1]],
  ['3: (b7) r0 = 1', [0xb7, 0, 0, 0, 1]],
  ['4: (85) call bpf_map_lookup_elem#1 # kernel verifier log', [0x85, 0, 0, 0, 1]],
  ['      7:\tr6 += r1 ; from llvm-objdump', [0x0f, 6, 1, 0, 0]],
];

const LDDW_CASES: [string, Fields, Fields][] = [
  ['lddw %r0, 0x1122334455667788', [0x18, 0, 0, 0, 0x55667788], [0, 0, 0, 0, 0x11223344]],
  ['lddw %r1, 2147483648', [0x18, 1, 0, 0, -0x80000000], [0, 0, 0, 0, 0]],
  ['r1 = 0x1122334455667788 ll', [0x18, 1, 0, 0, 0x55667788], [0, 0, 0, 0, 0x11223344]],
  ['r1 = 1234605616436508552 ll', [0x18, 1, 0, 0, 0x55667788], [0, 0, 0, 0, 0x11223344]],
  ['r1 = -1 ll', [0x18, 1, 0, 0, -1], [0, 0, 0, 0, -1]],
  ['r1 = map_by_fd(3) ll', [0x18, 1, 1, 0, 3], [0, 0, 0, 0, 0]],
  ['r1 = map_val(map_by_fd(3)) + 16 ll', [0x18, 1, 2, 0, 3], [0, 0, 0, 0, 16]],
  ['r1 = var_addr(7) ll', [0x18, 1, 3, 0, 7], [0, 0, 0, 0, 0]],
  ['r1 = code_addr(2) ll', [0x18, 1, 4, 0, 2], [0, 0, 0, 0, 0]],
  ['r2 = map_by_idx(1) ll', [0x18, 2, 5, 0, 1], [0, 0, 0, 0, 0]],
  ['r2 = map_val(map_by_idx(1)) - 8 ll', [0x18, 2, 6, 0, 1], [0, 0, 0, 0, -8]],
  ['lddw %r3, map_val(map_by_fd(4)) + 8', [0x18, 3, 2, 0, 4], [0, 0, 0, 0, 8]],
];

test('every uBPF mnemonic encodes as RFC 9669 says', () => {
  for (const [line, fields] of UBPF_CASES) {
    assert.deepEqual(assemble(line), [slot(fields)], line);
    assert.deepEqual(assemble(line, { syntax: 'ubpf' }), [slot(fields)], line);
  }
});

test('every llvm-objdump / kernel style form encodes as RFC 9669 says', () => {
  for (const [line, fields] of LLVM_CASES) {
    assert.deepEqual(assemble(line), [slot(fields)], line);
    assert.deepEqual(assemble(line, { syntax: 'llvm' }), [slot(fields)], line);
  }
});

test('64-bit immediate loads take two slots, pseudo sources included', () => {
  for (const [line, first, second] of LDDW_CASES) assert.deepEqual(assemble(line), [slot(first), slot(second)], line);
});

test('labels resolve forwards and backwards, counted in slots (lddw takes two)', () => {
  const insns = assemble(
    [
      'mov %r0, 0', //          slot 0
      'loop:',
      '  add %r0, 1', //        slot 1
      '  lddw %r2, 0x100000000', // slots 2-3
      '  jlt %r0, 10, loop  # back to slot 1', // slot 4
      '  ja done', //           slot 5
      '  mov %r0, 99', //       slot 6
      'done: exit', //          slot 7
    ].join('\n'),
  );
  assert.equal(insns.length, 8);
  assert.equal(insns[4]!.off, -4);
  assert.equal(insns[5]!.off, 1);
});

test('assembleProgram gives the source line of every slot and the label table', () => {
  const p = assembleProgram('# header\nstart:\n  lddw %r1, 1\n\n  jeq %r1, 0, exit\nmid: mov %r0, 2\n  exit', { firstLine: 10 });
  assert.deepEqual(p.sourceLines, [12, 12, 14, 15, 16]);
  assert.deepEqual([...p.labels].sort(), [['exit', 4], ['mid', 3], ['start', 0]]);
});

test('label `exit` names the first exit unless defined; ja32 and call local take labels in imm', () => {
  const implicit = assemble('jeq %r1, 0, exit\nmov %r0, 1\nexit\nmov %r0, 2\nexit');
  assert.equal(implicit[0]!.off, 1);
  const explicit = assemble('ja exit\nexit\nexit:\nmov %r0, 2\nexit');
  assert.equal(explicit[0]!.off, 1);
  const calls = assemble('call local f\nja32 end\nf:\nmov %r0, 1\nexit\nend:\nexit');
  assert.deepEqual(calls[0], { code: 0x85, dst: 0, src: 1, off: 0, imm: 1 });
  assert.deepEqual(calls[1], { code: 0x06, dst: 0, src: 0, off: 0, imm: 2 });
});

test('llvm style takes labels too, and both syntaxes mix line by line', () => {
  const insns = assemble(['r0 = 0', 'again:', 'w0 += 1', 'if w0 < 10 goto again', 'call sub', 'goto out', 'sub:', 'mov %r0, 7', 'exit', 'out: exit'].join('\n'));
  assert.equal(insns[2]!.off, -2);
  assert.deepEqual(insns[3], { code: 0x85, dst: 0, src: 1, off: 0, imm: 1 });
  assert.equal(insns[4]!.off, 2);
  assert.deepEqual(insns[5], { code: 0xb7, dst: 0, src: 0, off: 0, imm: 7 });
  // llvm-objdump listings paste in as they are: symbol headers become labels.
  const listing = assemble('0000000000000000 <f>:\n       0:\tgoto +0 <LBB0_1>\n\n0000000000000008 <LBB0_1>:\n       1:\texit\n');
  assert.deepEqual(listing.map((i) => i.code), [0x05, 0x95]);
});

function assertAsmError(source: string, line: number, pattern: RegExp, options: Parameters<typeof assemble>[1] = {}): AsmError {
  let caught: unknown;
  try {
    assemble(source, options);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof AsmError, `expected AsmError for ${JSON.stringify(source)}, got ${String(caught)}`);
  assert.ok(caught instanceof XrpError);
  assert.equal(caught.code, 'ASM');
  assert.equal(caught.line, line, caught.message);
  assert.match(caught.message, new RegExp(`:${line}: `));
  assert.match(caught.message, pattern);
  return caught;
}

test('errors name the line and the offending text', () => {
  const e = assertAsmError('mov %r0, 1\n\n  foo %r0, 1 # what\nexit', 3, /unknown mnemonic 'foo'/);
  assert.equal(e.text, 'foo %r0, 1 # what');
  assert.match(e.message, /^<asm>:3: unknown mnemonic 'foo' \(in "foo %r0, 1 # what"\)$/);
  assertAsmError('exit\nmov %r16, 1', 2, /bad register '%r16'/);
  assertAsmError('mov %rx, 1', 1, /bad register '%rx'/);
  assertAsmError('ldxw %r0, [%q1+4]', 1, /bad register '%q1'/);
  assertAsmError('r0 = 1\nr16 = 1', 2, /bad register 'r16'/);
  assertAsmError('mov %r0, 1\nja nowhere\nexit', 2, /undefined label 'nowhere'/);
  assertAsmError('r0 = 1\nif r0 > 1 goto nowhere\nexit', 2, /undefined label 'nowhere'/);
  assertAsmError('call local missing\nexit', 1, /undefined label 'missing'/);
  assertAsmError('ja exit', 1, /undefined label 'exit'/);
  assertAsmError('mov %r0, 0x100000000', 1, /immediate 0x100000000 out of range/);
  assertAsmError('mov32 %r0, -2147483649', 1, /immediate -2147483649 out of range/);
  assertAsmError('ldxw %r0, [%r1+0x10000]', 1, /offset \+0x10000 out of range/);
  assertAsmError('lddw %r0, 0x10000000000000000', 1, /64-bit immediate .* out of range/);
  assertAsmError('jeq %r0, 0, +32768', 1, /jump offset \+32768 out of range/);
  // A 64-bit operation sign-extends its immediate: 0xffffffff would silently mean -1.
  assertAsmError('r1 = 0xffffffff', 1, /immediate 0xffffffff out of range \(-2147483648\.\.2147483647\); write `r1 = 0xffffffff ll`/);
  assertAsmError('if r1 > 2147483648 goto +1', 1, /out of range/);
  assertAsmError('*(u64 *)(r10 - 8) = 0xffffffff', 1, /out of range/);
  assertAsmError('r0 = *(u32 *)(r1 + 40000)', 1, /offset \+40000 out of range/);
  assertAsmError('add %r0', 1, /'add' takes 2 operands, found 1/);
  assertAsmError('exit %r0', 1, /exit takes no operands/);
  assertAsmError('a:\nexit\na:\nexit', 3, /duplicate label 'a' \(first defined at line 1\)/);
  assertAsmError('w0 += r1', 1, /mixed register widths/);
  assertAsmError('if w0 > r1 goto +1', 1, /mixed register widths/);
  assertAsmError('lock fetch xchg [%r1], %r2', 1, /always fetches/);
  assertAsmError('lock inc [%r1], %r2', 1, /unknown atomic operation 'inc'/);
  assertAsmError('r1 = atomic_fetch_add((u64 *)(r1 + 0), r2)', 1, /same/);
  assertAsmError('r1 = cmpxchg_64(r1 + 0, r1, r2)', 1, /r0/);
  assertAsmError('r0 = be16 r1', 1, /same register/);
  assertAsmError('r0 = *(s64 *)(r1 + 0)', 1, /no sign-extending 64-bit load/);
  assertAsmError('w1 = 5 ll', 1, /needs an r register/);
  assertAsmError('r0 := 1', 1, /cannot parse instruction/);
  assertAsmError('ja 1x', 1, /bad jump target '1x'/);
  assertAsmError('movsx3232 %r0, %r1', 1, /movsx32 needs a 64-bit destination/);
  assertAsmError('.raw 0x1ffffffffffffffff', 1, /out of range/);
});

test('fileName and firstLine place errors in the enclosing file', () => {
  const e = assertAsmError('mov %r0, 1\nbogus', 12, /^add\.data:12: unknown mnemonic 'bogus'/, { fileName: 'add.data', firstLine: 11 });
  assert.equal(e.fileName, 'add.data');
  const far = ['ja far', ...Array.from({ length: 40000 }, () => 'mov %r0, 0'), 'far: exit'].join('\n');
  assertAsmError(far, 1, /jump to 'far' is 40000 slots away/);
});

test('forced syntax: uBPF lines are rejected in llvm mode and vice versa', () => {
  assertAsmError('mov %r0, 1', 1, /cannot parse instruction/, { syntax: 'llvm' });
  assertAsmError('r0 = 1', 1, /unknown mnemonic 'r0'/, { syntax: 'ubpf' });
  // shared forms work in both
  for (const syntax of ['ubpf', 'llvm'] as const) assert.deepEqual(assemble('call 1\nexit\n.raw 0x95', { syntax }).map((i) => i.code), [0x85, 0x95, 0x95]);
});

// ---------------------------------------------------------------------------------------
// The conformance corpus

function corpusPrograms(): { file: string; insns: Insn[]; raw?: bigint[] }[] {
  return readdirSync(CORPUS)
    .filter((f) => f.endsWith('.data'))
    .sort()
    .map((file) => {
      const t = readConformanceFile(join(CORPUS, file));
      const insns = assemble(t.asm!, { fileName: file, firstLine: t.asmFirstLine });
      return t.raw ? { file, insns, raw: t.raw } : { file, insns };
    });
}

test('corpus: all 313 programs assemble; where -- raw exists the encoding matches it exactly', { skip: haveCorpus ? false : `no corpus at ${CORPUS}` }, () => {
  const programs = corpusPrograms();
  assert.equal(programs.length, 313);
  const withRaw = programs.filter((p) => p.raw);
  assert.ok(withRaw.length >= 1);
  for (const p of withRaw) assert.equal(bytesOf(p.insns), Buffer.from(rawWordsToBytes(p.raw!)).toString('hex'), p.file);
  // The corpus exercises a wide opcode set: make sure none of it silently fell back to one form.
  const opcodes = new Set(programs.flatMap((p) => p.insns.map((i) => i.code)));
  assert.ok(opcodes.size >= 120, `only ${opcodes.size} distinct opcodes`);
  assert.equal(programs.find((p) => p.file === 'callx.data')!.insns[2]!.code, 0x8d);
});

test('corpus: assemble -> formatUbpf -> assemble and assemble -> disassemble -> assemble give identical slots', { skip: haveCorpus ? false : `no corpus at ${CORPUS}` }, () => {
  for (const { file, insns } of corpusPrograms()) {
    const ubpf = formatUbpf(insns);
    assert.ok(!ubpf.includes('.raw'), `${file}: an assembled slot did not decode`);
    assert.equal(bytesOf(assemble(ubpf, { syntax: 'ubpf' })), bytesOf(insns), `${file} via uBPF syntax`);
    const listing = disassemble(insns);
    assert.equal(bytesOf(assemble(listing.join('\n'), { syntax: 'llvm' })), bytesOf(insns), `${file} via llvm-objdump style`);
  }
});

// ---------------------------------------------------------------------------------------
// LLVM's own assembler as an oracle for the llvm-style syntax

function haveTool(name: string): boolean {
  const r = spawnSync(name, ['--version'], { encoding: 'utf8' });
  return r.status === 0;
}
const haveLlvm = haveTool('clang') && haveTool('llvm-objcopy');

/** Random lines in the subset of the syntax that LLVM 14's BPF assembler parses. */
function llvmOracleLines(prng: Prng, count: number): string[] {
  const pick = <T>(xs: readonly T[]): T => xs[prng.nextBelow(xs.length)]!;
  const reg = (): number => prng.nextBelow(11);
  const imm32 = (): number => pick([0, 1, -1, 7, 255, -2147483648, 2147483647, prng.nextU32() | 0]);
  const off16 = (): number => pick([0, 1, -1, 8, -8, 32767, -32768, (prng.nextU32() << 16) >> 16]);
  const mem = (r: number): string => {
    const off = off16();
    return `(r${r} ${off < 0 ? '-' : '+'} ${Math.abs(off)})`;
  };
  // no '%' (mod): LLVM 14's assembler does not parse `%=`
  const aluOps = ['+', '-', '*', '/', '|', '&', '<<', '>>', 's>>', '^'];
  // no '&' (JSET): LLVM 14's assembler does not know it
  const cmps = ['==', '!=', '>', '>=', '<', '<=', 's>', 's>=', 's<', 's<='];
  const sizes = [8, 16, 32, 64];
  const lines: string[] = [];
  while (lines.length < count) {
    const r = pick(['r', 'w']);
    const d = reg();
    const s = reg();
    switch (prng.nextBelow(12)) {
      case 0:
        lines.push(`${r}${d} ${pick(aluOps)}= ${prng.nextBelow(2) ? `${r}${s}` : imm32()}`);
        break;
      case 1:
        lines.push(`${r}${d} = ${prng.nextBelow(2) ? `${r}${s}` : imm32()}`);
        break;
      case 2:
        lines.push(`${r}${d} = -${r}${d}`);
        break;
      case 3:
        lines.push(`r${d} = ${pick(['be', 'le'])}${pick([16, 32, 64])} r${d}`);
        break;
      case 4:
        lines.push(`r${d} = *(u${pick(sizes)} *)${mem(s)}`);
        break;
      case 5:
        lines.push(`*(u${pick(sizes)} *)${mem(d)} = r${s}`);
        break;
      case 6: {
        const v = (BigInt(prng.nextU32()) << 32n) | BigInt(prng.nextU32());
        lines.push(`r${d} = ${prng.nextBelow(2) ? `0x${v.toString(16)}` : BigInt.asIntN(64, v).toString()} ll`);
        break;
      }
      case 7: {
        const off = off16();
        lines.push(`if ${r}${d} ${pick(cmps)} ${prng.nextBelow(2) ? `${r}${s}` : imm32()} goto ${off < 0 ? off : `+${off}`}`);
        break;
      }
      case 8: {
        const off = off16();
        lines.push(`goto ${off < 0 ? off : `+${off}`}`);
        break;
      }
      case 9:
        lines.push(pick([`call ${prng.nextBelow(200)}`, 'exit']));
        break;
      case 10: {
        const w = pick([32, 64]);
        lines.push(`lock *(u${w} *)${mem(d)} ${pick(['+', '|', '&', '^'])}= ${w === 32 ? 'w' : 'r'}${s}`);
        break;
      }
      default:
        lines.push(prng.nextBelow(2) ? `r0 = *(u${pick([8, 16, 32])} *)skb[${imm32()}]` : `r0 = *(u${pick([8, 16, 32])} *)skb[r${s}]`);
    }
  }
  return lines;
}

test('llvm style: 3000 random lines encode exactly as LLVM\'s own BPF assembler does', { skip: haveLlvm ? false : 'clang or llvm-objcopy not installed' }, () => {
  const seed = 20240;
  const lines = llvmOracleLines(new Prng(seed), 3000);
  const dir = mkdtempSync(join(tmpdir(), 'xrp-asm-'));
  try {
    writeFileSync(join(dir, 'x.s'), `${lines.join('\n')}\n`);
    const cc = spawnSync('clang', ['-target', 'bpf', '-mcpu=v3', '-c', join(dir, 'x.s'), '-o', join(dir, 'x.o')], { encoding: 'utf8' });
    assert.equal(cc.status, 0, cc.stderr);
    const oc = spawnSync('llvm-objcopy', ['-O', 'binary', '--only-section=.text', join(dir, 'x.o'), join(dir, 'x.bin')], { encoding: 'utf8' });
    assert.equal(oc.status, 0, oc.stderr);
    const expected = decode(new Uint8Array(readFileSync(join(dir, 'x.bin'))));
    let pc = 0;
    for (const line of lines) {
      const mine = assemble(line, { syntax: 'llvm' });
      const theirs = expected.slice(pc, pc + mine.length);
      assert.equal(bytesOf(mine), bytesOf(theirs), `seed ${seed}: "${line}" at slot ${pc}`);
      pc += mine.length;
    }
    assert.equal(pc, expected.length);
  } finally {
    if (!process.env.XRP_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
  }
});

test('garbage in: 20,000 mutated lines and long repetitive lines give an AsmError or slots, nothing else', () => {
  const seed = 3;
  const prng = new Prng(seed);
  const seeds = [
    'mov %r0, 1',
    'lock fetch add32 [%r10-4], %r1',
    'ldxw %r0, [%r1+4]',
    'jne %r0, 15, f',
    'call local f',
    'r0 = *(u32 *)(r1 + 4)',
    'if w1 s> w2 goto -5',
    'r1 = map_val(map_by_fd(3)) + 16 ll',
    'r0 = cmpxchg_64(r1 + 8, r0, r3)',
    'r0 = atomic_fetch_add((u64 *)(r1 + 0), r0)',
    'r0 = *(u32 *)skb[r2 + 8]',
    '.raw 0x95',
  ];
  const alphabet = ' \t%r0123456789abcdefx+-*()[],:=<>&|^#;/.swlu_';
  const char = (): string => alphabet[prng.nextBelow(alphabet.length)]!;
  const attempt = (line: string): void => {
    try {
      assemble(`${line}\nf:\nexit`);
    } catch (e) {
      assert.ok(e instanceof AsmError, `seed ${seed}: ${JSON.stringify(line)} threw ${String(e)}`);
    }
  };
  for (let i = 0; i < 20_000; i++) {
    let line = seeds[prng.nextBelow(seeds.length)]!;
    for (let k = 1 + prng.nextBelow(4); k > 0; k--) {
      const at = prng.nextBelow(line.length + 1);
      const op = prng.nextBelow(3);
      line = op === 0 ? line.slice(0, at) + char() + line.slice(at) : op === 1 ? line.slice(0, at) + line.slice(at + 1) : line.slice(0, at) + char() + line.slice(at + 1);
    }
    attempt(line);
  }
  // Repetitive lines near the length limit: every pattern must stay linear (a backtracking
  // blow-up would hang here), and longer lines are refused outright.
  const heads = ['r0 =', 'if r1', '*(u32 *)(r1', 'lock', 'mov %r0,', 'r1 = map_val(', 'r0 = atomic_fetch_add((u64 *)(r1', 'call', 'r0 = *(u8 *)skb['];
  for (let i = 0; i < 60; i++) {
    const fragment = Array.from({ length: 1 + prng.nextBelow(3) }, char).join('');
    attempt(`${heads[i % heads.length]} ${fragment.repeat(Math.floor(4000 / fragment.length))}`);
  }
  assertAsmError(`r0 = ${' '.repeat(5000)}1`, 1, /line longer than 4096 characters/);
});

// ---------------------------------------------------------------------------------------
// The kernel's own text: bpftool prints the verifier's disassembly (`12: (b7) r0 = 1`,
// `(18) r2 = 0x2ef197dc71dc672b`, `if r9 s> 0x0 goto pc-5`); each line must assemble to
// the bytes of the same instruction in the program the kernel holds.

const kernelUnavailable = kernelOracleUnavailable();

/**
 * Slots whose kernel text does not say what they are. The cpu v4 instructions: Debian's
 * bpftool carries a copy of the kernel printer that predates them (it prints
 * `BUG_alu64_d7` for bswap, `if w0 jmp 0x0 goto pc+0` for gotol, and sdiv, smod, movsx
 * and sign-extending loads as their unsigned forms). And the verifier's own zero-extension
 * marker, `w0 = w0` with imm 1, which exists only inside the kernel.
 */
function kernelTextIsLossy(i: Insn): boolean {
  const cls = i.code & 0x07;
  if (i.code === 0xbc && i.imm === 1 && i.src === i.dst) return true; // BPF_ZEXT_REG
  if ((cls === 0x04 || cls === 0x07) && i.off !== 0) return true; // sdiv, smod, movsx
  if (cls === 0x01 && (i.code & 0xe0) === 0x80) return true; // ldxs*
  return i.code === 0xd7 || i.code === 0x06; // bswap, gotol
}

test('kernel verifier text: 30 loaded programs, every line assembles to the bytes the kernel holds', { skip: kernelUnavailable ?? false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xrp-asm-kernel-'));
  const fs = join(dir, 'bpffs');
  const run = (cmd: string, args: string[]): string => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  run('mkdir', [fs]);
  run('mount', ['-t', 'bpf', 'bpf', fs]);
  let compared = 0;
  let skipped = 0;
  try {
    for (let i = 0; i < 30; i++) {
      const g = generateProgram({ seed: 7000 + i, kernel: true });
      const object = join(dir, `p${i}.o`);
      const pin = join(fs, `p${i}`);
      const xlated = join(dir, `p${i}.bin`);
      writeFileSync(object, buildBpfElf(wrapForXdp(g.insns, g.bufferBytes)));
      run('bpftool', ['prog', 'load', object, pin, 'type', 'xdp']);
      run('bpftool', ['prog', 'dump', 'xlated', 'pinned', pin, 'file', xlated]);
      const text = run('bpftool', ['prog', 'dump', 'xlated', 'pinned', pin]);
      const kernelInsns = decode(new Uint8Array(readFileSync(xlated)));
      for (const line of text.split('\n')) {
        const m = /^\s*(\d+): (.*)$/.exec(line);
        if (!m) continue;
        const slot = Number(m[1]);
        if (kernelTextIsLossy(kernelInsns[slot]!)) {
          skipped++;
          continue;
        }
        const mine = assemble(line, { syntax: 'llvm', fileName: `p${i} xlated` });
        assert.equal(bytesOf(mine), bytesOf(kernelInsns.slice(slot, slot + mine.length)), `seed ${g.seed}: ${line}`);
        compared++;
      }
    }
  } finally {
    spawnSync('umount', [fs]);
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(compared > 1000, `only ${compared} kernel lines compared (${skipped} skipped)`);
  if (process.env.XRP_VERBOSE) console.log(`${compared} kernel lines compared, ${skipped} skipped`);
});

test('kernel log lines: the logged opcode must match the instruction', () => {
  assert.deepEqual(assemble('5: (65) if r9 s> 0xffffffff goto pc-5'), [slot([0x65, 9, 0, -5, -1])]);
  assert.deepEqual(assemble('(18) r2 = 0x2ef197dc71dc672b').length, 2);
  assert.deepEqual(assemble('(db) r1 = atomic64_fetch_add((u64 *)(r10 -8), r1)'), [slot([0xdb, 10, 1, -8, 0x01])]);
  assertAsmError('x:\n(b7) w0 = 1', 2, /logged opcode \(b7\) is not the opcode of the instruction \(b4\)/);
});
