// BPF-KV figures: builder speed (in memory and to a file), computed-store
// speed, and the storage functions' executed instructions per lookup and per
// range pair on the reference interpreter (via the test chain driver).
// Run: node --import tsx bench/kv.ts

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildKvBytes, buildKvFile } from '../src/kv/builder.ts';
import { MemoryBlockSource } from '../src/base/block-source.ts';
import { ComputedKvStore } from '../src/kv/computed-store.ts';
import { kvGeometry } from '../src/kv/format.ts';
import { lookupKey } from '../src/kv/lookups.ts';
import { AggOp } from '../src/kv/scratch.ts';
import { TestRng, xrpGet, xrpRange } from '../test/kv/kv-helpers.ts';
import { benchArgs } from './args.ts';

benchArgs({
  script: 'bench/kv.ts',
  usage: 'Usage: node --import tsx bench/kv.ts\n  BPF-KV builder and computed-store speed, storage-function instructions per lookup and range pair; no options',
  options: {},
});

const ms = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;

for (const layers of [1, 2, 3, 4]) {
  const t = process.hrtime.bigint();
  const bytes = await buildKvBytes({ layers });
  const elapsed = ms(t);
  console.log(`build L=${layers}: ${bytes.length} bytes in ${elapsed.toFixed(1)} ms (${(bytes.length / 1e6 / (elapsed / 1e3)).toFixed(0)} MB/s, memory)`);
}
{
  const dir = mkdtempSync(join(tmpdir(), 'kv-bench-'));
  const t = process.hrtime.bigint();
  const summary = await buildKvFile(join(dir, 'db'), { layers: 4 });
  const elapsed = ms(t);
  console.log(`build L=4 to a file: ${summary.bytesWritten} bytes in ${elapsed.toFixed(0)} ms (${(summary.bytesWritten / 1e6 / (elapsed / 1e3)).toFixed(0)} MB/s)`);
  rmSync(dir, { recursive: true, force: true });
}
{
  const store = new ComputedKvStore(6);
  const rng = new TestRng(1);
  const out = new Uint8Array(512);
  const blocks = 200_000;
  const t = process.hrtime.bigint();
  for (let i = 0; i < blocks; i++) store.computeBlock(rng.below(store.sizeBytes / 512), out);
  const elapsed = ms(t);
  console.log(`computed store L=6 (${kvGeometry(6).fileBytes} bytes): ${((elapsed * 1e3) / blocks).toFixed(2)} us per random 512-byte block`);
}
for (const layers of [1, 2, 3, 4, 5, 6]) {
  const source = layers <= 3 ? new MemoryBlockSource(await buildKvBytes({ layers })) : new ComputedKvStore(layers);
  const { keyCount } = kvGeometry(layers);
  const rng = new TestRng(layers);
  let insns = 0;
  let reads = 0;
  const calls = 20;
  for (let c = 0; c < calls; c++) {
    const keys = Array.from({ length: 32 }, () => BigInt(rng.below(keyCount)));
    const { chain, values } = xrpGet(source, keys);
    if (!values.every((v, i) => v.found && lookupKey(source, keys[i]!).found)) throw new Error('lookup mismatch');
    insns += chain.insnsExecuted;
    reads += chain.reads;
  }
  console.log(`kv_get L=${layers}: ${(insns / (calls * 32)).toFixed(0)} instructions per key, ${(insns / reads).toFixed(0)} per block (${reads / (calls * 32)} reads per key)`);
}
{
  const source = new MemoryBlockSource(await buildKvBytes({ layers: 3 }));
  for (const [name, op] of Object.entries(AggOp)) {
    const r = xrpRange(source, { begin: 1000n, end: 2000n }, op);
    const insns = r.chains.reduce((s, c) => s + c.insnsExecuted, 0);
    const reads = r.chains.reduce((s, c) => s + c.reads, 0);
    console.log(`kv_range ${name.padEnd(5)} over 1000 keys (L=3): ${r.chains.length} calls, ${reads} reads, ${(insns / 1000).toFixed(0)} instructions per key`);
  }
}
