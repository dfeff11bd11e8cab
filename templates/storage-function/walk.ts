// The walk find.bpf.c does, in plain TypeScript over the file: the reference to
// compare the storage function against. Also makes a sample list file.
//
//   node --experimental-strip-types walk.ts make list.bin      a sample file (Node 22.6+; or: npx tsx walk.ts ...)
//   node --experimental-strip-types walk.ts find list.bin KEY  the answer, walked in TypeScript
// and the storage function on the same file:
//   npx xrp sf run find.bpf.o list.bin --scratch key.bin       (emulated: read() against read_xrp)
//   npx xrp sf run find.bpf.o list.bin --scratch key.bin --engine native
// where key.bin holds the key as 8 little-endian bytes (`walk.ts key KEY` writes it).

import { closeSync, openSync, readSync, writeFileSync } from 'node:fs';

export const BLOCK_BYTES = 512;

export interface FindResult {
  found: boolean;
  value: bigint;
  hops: number;
}

/** Walks the list from `startOffset` as find.bpf.c does, one 512-byte pread per hop. */
export function walk(path: string, wanted: bigint, startOffset = 0, hopsMax = 1 << 20): FindResult {
  const fd = openSync(path, 'r');
  try {
    const block = new Uint8Array(BLOCK_BYTES);
    const view = new DataView(block.buffer);
    let offset = startOffset;
    for (let hops = 1; hops <= hopsMax; hops++) {
      block.fill(0);
      readSync(fd, block, 0, BLOCK_BYTES, offset);
      const next = view.getBigUint64(0, true);
      if (view.getBigUint64(8, true) === wanted) return { found: true, value: view.getBigUint64(16, true), hops };
      if (next === 0n || next % 512n !== 0n) return { found: false, value: 0n, hops };
      offset = Number(next);
    }
    throw new Error(`no end after ${hopsMax} hops: a cycle?`);
  } finally {
    closeSync(fd);
  }
}

/** The scratch page find.bpf.c leaves for a result (the layout in its comment). */
export function scratchOf(wanted: bigint, r: FindResult): Uint8Array {
  const page = new Uint8Array(4096);
  const view = new DataView(page.buffer);
  view.setBigUint64(0, wanted, true);
  view.setBigUint64(8, r.found ? 1n : 0n, true);
  view.setBigUint64(16, r.value, true);
  view.setBigUint64(24, BigInt(r.hops), true);
  return page;
}

/** A list through all `length + 1` blocks of a file, block 0 first and the rest shuffled: the i-th block of the list has key i and value i * 1000. */
export function makeList(path: string, length: number, seed = 1): void {
  const bytes = new Uint8Array((length + 1) * BLOCK_BYTES);
  const view = new DataView(bytes.buffer);
  const order = Array.from({ length }, (_, i) => i + 1);
  let s = seed >>> 0;
  for (let i = order.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const chain = [0, ...order];
  chain.forEach((blockIndex, i) => {
    const at = blockIndex * BLOCK_BYTES;
    const next = chain[i + 1];
    view.setBigUint64(at, next === undefined ? 0n : BigInt(next * BLOCK_BYTES), true);
    view.setBigUint64(at + 8, BigInt(i), true);
    view.setBigUint64(at + 16, BigInt(i * 1000), true);
  });
  writeFileSync(path, bytes);
}

const [command, path, arg] = process.argv.slice(2);
if (command === 'make' && path !== undefined) {
  makeList(path, Number(arg ?? 100));
  console.log(`${path}: a list of ${arg ?? 100} blocks`);
} else if (command === 'find' && path !== undefined && arg !== undefined) {
  const r = walk(path, BigInt(arg));
  console.log(`key ${arg}: ${r.found ? `value ${r.value}` : 'not found'}, ${r.hops} hop(s)`);
} else if (command === 'key' && path !== undefined && arg !== undefined) {
  const page = new Uint8Array(8);
  new DataView(page.buffer).setBigUint64(0, BigInt(arg), true);
  writeFileSync(path, page);
}
