// Test fixtures of the native engine: a "scripted" storage function whose
// every decision is written in the block it reads, and files of such blocks on
// a real file system (os.tmpdir(), which is ext4 on the CI machine, not tmpfs).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assemble } from '../../src/bpf/asm/asm.ts';
import type { Program } from '../../src/bpf/isa.ts';

/**
 * Block layout read by SCRIPTED (all u64, little-endian):
 *   @0 done (its low 32 bits go to ctx.done)    @8 return value
 *   @16 + 8i next_addr[i]   @144 + 8i size[i]   (i = 0..15)
 *   @400 tag: appended to the scratch log
 * Scratch: @0 number of runs, @8 + 8k the tag of run k (k < 128).
 */
export const B = { DONE: 0, RET: 8, NEXT: 16, SIZE: 144, TAG: 400 } as const;

function scriptedAsm(): string {
  const lines = [
    'r6 = *(u64 *)(r1 + 264)',
    'r7 = *(u64 *)(r1 + 272)',
    'r2 = *(u64 *)(r7 + 0)',
    'r3 = r2',
    'r3 &= 127',
    'r3 <<= 3',
    'r4 = r7',
    'r4 += r3',
    'r5 = *(u64 *)(r6 + 400)',
    '*(u64 *)(r4 + 8) = r5',
    'r2 += 1',
    '*(u64 *)(r7 + 0) = r2',
  ];
  for (let i = 0; i < 16; i++) {
    // a zero in the block leaves the ctx field as it was (a branch's ctx persists between its runs)
    lines.push(`r2 = *(u64 *)(r6 + ${B.NEXT + 8 * i})`, `if r2 == 0 goto +1`, `*(u64 *)(r1 + ${8 + 8 * i}) = r2`);
    lines.push(`r2 = *(u64 *)(r6 + ${B.SIZE + 8 * i})`, `*(u64 *)(r1 + ${136 + 8 * i}) = r2`);
  }
  lines.push('r2 = *(u64 *)(r6 + 0)', '*(u32 *)(r1 + 0) = r2', 'r0 = *(u64 *)(r6 + 8)', 'exit');
  return lines.join('\n');
}

export const SCRIPTED: Program = { name: 'scripted', insns: assemble(scriptedAsm(), { syntax: 'llvm', fileName: 'scripted.s' }) };

/** Spins `loops` times, then ends the chain: a FAULT under a small instruction limit. */
export const SPIN: Program = {
  name: 'spin',
  insns: assemble(['r2 = 2000', 'r2 -= 1', 'if r2 != 0 goto -2', 'r2 = 1', '*(u32 *)(r1 + 0) = r2', 'r0 = 0', 'exit'].join('\n'), { syntax: 'llvm' }),
};

export interface BlockSpec {
  done?: boolean;
  ret?: bigint;
  /** [offset, size] per slot (size 0n for slot 0 means 512) */
  next?: [number | bigint, number | bigint][];
  tag?: number;
}

/** 512-byte blocks for SCRIPTED, block i at offset 512 * i (a block may be overwritten with `at`). */
export function scriptedFile(blocks: BlockSpec[], totalBlocks = blocks.length): Uint8Array {
  const bytes = new Uint8Array(totalBlocks * 512);
  const view = new DataView(bytes.buffer);
  blocks.forEach((b, i) => {
    const at = i * 512;
    view.setBigUint64(at + B.DONE, b.done ? 1n : 0n, true);
    view.setBigUint64(at + B.RET, b.ret ?? 0n, true);
    (b.next ?? []).forEach(([offset, size], slot) => {
      view.setBigUint64(at + B.NEXT + 8 * slot, BigInt(offset), true);
      view.setBigUint64(at + B.SIZE + 8 * slot, BigInt(size), true);
    });
    view.setBigUint64(at + B.TAG, BigInt(b.tag ?? i), true);
  });
  return bytes;
}

/** The tags the scripted program logged, in run order. */
export function scriptedLog(scratch: Uint8Array): number[] {
  const view = new DataView(scratch.buffer, scratch.byteOffset, scratch.length);
  const runs = Number(view.getBigUint64(0, true));
  return Array.from({ length: Math.min(runs, 128) }, (_, k) => Number(view.getBigUint64(8 + 8 * k, true)));
}

export class TempDir {
  readonly path = mkdtempSync(join(tmpdir(), 'xrp-native-'));
  file(name: string, bytes: Uint8Array): string {
    const path = join(this.path, name);
    writeFileSync(path, bytes);
    return path;
  }
  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}
