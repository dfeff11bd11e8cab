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

// ---- walk.bpf.o files (bpf/xrp/walk.bpf.c) ----

export const WALK_OBJ = join(ROOT, 'bpf/xrp/walk.bpf.o');
export const OP_END = 0;
export const OP_NEXT = 1;
export const OP_ERROR = 2;
export const OP_FANOUT = 3;

export interface WalkNode {
  op: number;
  /** Fan-out count or ERROR return value. */
  n?: number;
  value: bigint;
  /** Size of this node's block (its reader must ask for this many bytes). */
  selfSize: number;
  /** Word at selfSize - 8 (default: value * 3 + 1). */
  tail?: bigint;
  addrs?: number[];
  sizes?: number[];
}

/** Writes a walk node at `off` in `bytes`. */
export function writeNode(bytes: Uint8Array, off: number, node: WalkNode): void {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  v.setUint32(off, node.op, true);
  v.setUint32(off + 4, node.n ?? 0, true);
  v.setBigUint64(off + 8, node.value, true);
  v.setBigUint64(off + 16, BigInt(node.selfSize), true);
  (node.addrs ?? []).forEach((a, i) => v.setBigUint64(off + 24 + 8 * i, BigInt(a), true));
  (node.sizes ?? []).forEach((s, i) => v.setBigUint64(off + 152 + 8 * i, BigInt(s), true));
  v.setBigUint64(off + node.selfSize - 8, node.tail ?? node.value * 3n + 1n, true);
}

export interface WalkAnswer {
  visits: bigint;
  sum: bigint;
  tail: bigint;
}

/**
 * The walk in plain TypeScript over the file's bytes (a second implementation
 * of walk.bpf.c, order-independent): visits, sum of values, sum of tail words.
 * Blocks are zero-padded past the read size and past the end of the file.
 */
export function refWalk(bytes: Uint8Array, start: number, startSize: number): WalkAnswer & { error: number | null } {
  const ans = { visits: 0n, sum: 0n, tail: 0n, error: null as number | null };
  const work: Array<[number, number]> = [[start, startSize]];
  while (work.length > 0) {
    const [off, size] = work.pop()!;
    const page = new Uint8Array(4096);
    page.set(bytes.subarray(off, Math.min(bytes.length, off + size)));
    const v = new DataView(page.buffer);
    const op = v.getUint32(0, true);
    let n = v.getUint32(4, true);
    const self = v.getBigUint64(16, true);
    ans.visits += 1n;
    ans.sum = BigInt.asUintN(64, ans.sum + v.getBigUint64(8, true));
    ans.tail = BigInt.asUintN(64, ans.tail + v.getBigUint64(Number((self - 8n) & 0xff8n), true));
    if (op === OP_END) continue;
    if (op === OP_ERROR) {
      ans.error = n;
      return ans;
    }
    if (op === OP_NEXT) n = 1;
    n = Math.min(n, 16);
    for (let i = 0; i < n; i++) {
      const s = Number(v.getBigUint64(152 + 8 * i, true));
      if (i > 0 && s === 0) continue;
      work.push([Number(v.getBigUint64(24 + 8 * i, true)), s === 0 ? 512 : s]);
    }
  }
  return ans;
}

export function scratchAnswer(p: Process, scratchBuf: number): WalkAnswer {
  const v = p.mem.view;
  return { visits: v.getBigUint64(scratchBuf, true), sum: v.getBigUint64(scratchBuf + 8, true), tail: v.getBigUint64(scratchBuf + 16, true) };
}

/**
 * A random tree of walk nodes: every node gets a size 512..4096 (step 512)
 * and a 512-aligned place in the file that does not cross a 4096-byte block
 * boundary unless the node is 4096 bytes and block aligned (so any file layout
 * works); internal nodes fan out to 1..16 children (NEXT for one child).
 */
export function randomTree(seed: number, nodesMax: number, fanoutMax = 16): { bytes: Uint8Array; root: number; rootSize: number; nodes: number } {
  const rng = new TestRng(seed);
  interface Pending { off: number; size: number }
  const sizes: number[] = [];
  const offs: number[] = [];
  let blockUsed = 0; // bytes used in the current 4096 block
  let cursor = 4096; // block 0 unused
  const place = (size: number): number => {
    if (blockUsed + size > 4096) {
      cursor += 4096;
      blockUsed = 0;
    }
    const off = cursor + blockUsed;
    blockUsed += size;
    return off;
  };
  const newNode = (): Pending => {
    const size = 512 * (1 + rng.below(8));
    const off = place(size);
    sizes.push(size);
    offs.push(off);
    return { off, size };
  };
  const root = newNode();
  const queue: Pending[] = [root];
  const nodes: Array<{ at: Pending; node: WalkNode }> = [];
  let count = 1;
  while (queue.length > 0) {
    const at = queue.shift()!;
    const value = BigInt(rng.next()) * 7919n + BigInt(count);
    const room = nodesMax - count;
    if (room <= 0 || rng.below(4) === 0) {
      nodes.push({ at, node: { op: OP_END, value, selfSize: at.size } });
      continue;
    }
    const k = Math.min(room, 1 + rng.below(fanoutMax));
    const kids: Pending[] = [];
    for (let i = 0; i < k; i++) kids.push(newNode());
    count += k;
    queue.push(...kids);
    nodes.push({
      at,
      node: {
        op: k === 1 && rng.below(2) === 0 ? OP_NEXT : OP_FANOUT, n: k, value, selfSize: at.size,
        addrs: kids.map((c) => c.off), sizes: kids.map((c, i) => (i === 0 && c.size === 512 && rng.below(2) === 0 ? 0 : c.size)),
      },
    });
  }
  const bytes = new Uint8Array(cursor + 4096);
  for (let i = 0; i < bytes.length; i++) bytes[i] = rng.below(256);
  for (const { at, node } of nodes) writeNode(bytes, at.off, node);
  return { bytes, root: root.off, rootSize: root.size, nodes: count };
}
