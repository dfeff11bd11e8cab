// Fixtures of the XRP tests: a machine with a process, chained files, and the
// user-space walk that read_xrp must agree with.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Machine } from '../../../src/kernel/machine.ts';
import type { Process } from '../../../src/kernel/syscalls.ts';
import { O_DIRECT, O_RDONLY } from '../../../src/kernel/syscalls.ts';
import { loadXrpProgramFile } from '../../../src/kernel/xrp/index.ts';
import type { SimThread, Task } from '../../../src/sim/thread.ts';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CHAIN_OBJ = join(ROOT, 'bpf/examples/chain.bpf.o');

/** xorshift32: deterministic test data. */
export class TestRng {
  private x: number;
  constructor(readonly seed: number) {
    this.x = seed >>> 0 || 1;
  }
  next(): number {
    this.x ^= this.x << 13;
    this.x >>>= 0;
    this.x ^= this.x >>> 17;
    this.x ^= this.x << 5;
    this.x >>>= 0;
    return this.x;
  }
  below(n: number): number {
    return this.next() % n;
  }
}

export interface ChainFile {
  bytes: Uint8Array;
  /** Offset of the first block. */
  start: number;
  /** Offsets in chain order. */
  order: number[];
}

/**
 * A file of `blocks` 512-byte blocks holding one chain of `hops` blocks in a
 * random order: each block starts with the u64 offset of the next (0 ends).
 * Block 0 is never in the chain (offset 0 means "end"). Other blocks hold junk.
 */
export function chainFile(hops: number, blocks: number, seed: number): ChainFile {
  if (hops >= blocks) throw new RangeError(`a chain of ${hops} hops needs more than ${blocks} blocks`);
  const rng = new TestRng(seed);
  const bytes = new Uint8Array(blocks * 512);
  for (let i = 0; i < bytes.length; i++) bytes[i] = rng.below(256);
  const ids = Array.from({ length: blocks - 1 }, (_, i) => i + 1);
  for (let i = ids.length - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  const order = ids.slice(0, hops).map((b) => b * 512);
  const view = new DataView(bytes.buffer);
  order.forEach((off, i) => view.setBigUint64(off, BigInt(order[i + 1] ?? 0), true));
  return { bytes, start: order[0]!, order };
}

/** What chain.bpf.c leaves in scratch after a walk from `start`: hops and the last block's offset. */
export function walkChain(bytes: Uint8Array, start: number, maxHops = 1_000_000): { hops: number; last: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = start;
  let hops = 0;
  let last = 0;
  for (;;) {
    hops++;
    const next = Number(view.getBigUint64(off, true));
    if (next === 0 || hops >= maxHops) return { hops, last };
    last = next;
    off = next;
  }
}

/** Writes `bytes` as file `name` (management copy, untimed). */
export function putFile(m: Machine, name: string, bytes: Uint8Array): void {
  const ino = m.fs.create(name);
  m.fs.write(ino, 0, bytes);
}

export interface XrpSetup {
  fd: number;
  progFd: number;
  dataBuf: number;
  scratchBuf: number;
}

/** Opens `name` O_DIRECT, loads `program` of `objectPath`, allocates a data and a scratch page. */
export function* setup(t: SimThread, p: Process, name: string, objectPath = CHAIN_OBJ, program = 'chain'): Task<XrpSetup> {
  const fd = yield* p.open(t, name, O_RDONLY | O_DIRECT);
  if (fd < 0) throw new Error(`open ${name}: ${fd}`);
  const progFd = yield* loadXrpProgramFile(t, p, objectPath, program);
  return { fd, progFd, dataBuf: p.alloc(4096), scratchBuf: p.alloc(4096) };
}

export function u64(p: Process, addr: number): number {
  return Number(p.mem.view.getBigUint64(addr, true));
}
