// How long a hostile BPF-KV file holds each engine up: the time (host) from a
// lookup's start to its typed end, on a file whose root points at itself
// (CYCLE) and on a well-formed 3-layer file whose request is given a budget of
// 10 reads (LIMIT, partial), for
//   xrp mode     the emulated machine's xrp mode (read_xrp + fallback), a run of one request
//   read mode    the emulated machine's pread walk (user space, KvVisited)
//   reference    the untimed user-space walk of src/kv/lookups.ts
//   emulated     the XrpEngine client (src/kv/xrp-client.ts) on the emulated engine, opened beforehand
//   native       the same client on the native engine, opened beforehand
// Each figure is the median of `--repeat` runs; the emulated modes' include
// booting the machine from the image (their run's unit), the engines' do not.
//
// Run: node --import tsx bench/hostile-kv.ts [--repeat 5]

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileBlockSource } from '../src/base/block-source.ts';
import { EmulatedXrpEngine } from '../src/kernel/xrp/engine.ts';
import { buildKvFile } from '../src/kv/builder.ts';
import { importKvImage } from '../src/kv/kv-db.ts';
import { lookupKey } from '../src/kv/lookups.ts';
import { runKvLookups, type KvMode } from '../src/kv/modes.ts';
import { KV_GET_OBJECT, nativeKvGet, openKvEngine } from '../src/kv/xrp-client.ts';
import type { XrpEngine } from '../src/xrp/engine.ts';
import { benchArgs } from './args.ts';

const cl = benchArgs({
  script: 'bench/hostile-kv.ts',
  usage: 'Usage: node --import tsx bench/hostile-kv.ts [--repeat N]\n  --repeat N  runs per figure, the median printed (default 5)',
  options: { repeat: { type: 'string', default: '5' } },
});
const repeat = cl.positiveInt('--repeat', cl.values.repeat);

/** The outcome's name: the structural check or LIMIT or "answer". */
async function outcome(run: () => Promise<string> | string): Promise<{ ms: number; what: string }> {
  const t0 = performance.now();
  let what: string;
  try {
    what = await run();
  } catch (e) {
    what = (e as { check?: string; code?: string }).check ?? (e as { code?: string }).code ?? String(e);
  }
  return { ms: performance.now() - t0, what };
}

async function median(run: () => Promise<string> | string): Promise<string> {
  const got: { ms: number; what: string }[] = [];
  for (let i = 0; i < repeat; i++) got.push(await outcome(run));
  got.sort((a, b) => a.ms - b.ms);
  const mid = got[Math.floor(got.length / 2)] ?? { ms: NaN, what: '?' };
  return `${mid.what.padEnd(12)} ${mid.ms.toFixed(1).padStart(8)} ms`;
}

const dir = mkdtempSync(join(tmpdir(), 'hostile-kv-'));
try {
  const cycle = join(dir, 'cycle.raw');
  await buildKvFile(cycle, { layers: 2 });
  const bytes = new Uint8Array(readFileSync(cycle));
  new DataView(bytes.buffer).setBigUint64(264, 1n << 63n, true); // the root's ptr[0] points at the root
  writeFileSync(cycle, bytes);
  const deep = join(dir, 'deep.raw');
  await buildKvFile(deep, { layers: 3 });
  const cases = [
    { name: 'cycle (root -> root), get 5', raw: cycle, keys: [5n], readsMax: undefined },
    { name: 'budget of 10 reads, get 6 keys', raw: deep, keys: [1n, 2n, 3n, 4n, 5n, 6n], readsMax: 10 },
  ];
  console.log(`# time to the typed end of one request (host ms, median of ${repeat}); node ${process.version}`);
  for (const c of cases) {
    const image = join(dir, `${c.name.length}.img`);
    importKvImage(c.raw, image);
    const budget = c.readsMax !== undefined ? { readsMax: c.readsMax } : {};
    console.log(`\n${c.name}`);
    for (const mode of ['xrp', 'read'] as KvMode[]) {
      if (mode === 'read' && c.readsMax !== undefined) continue; // the budget is mode xrp's
      console.log(`  ${`${mode} mode`.padEnd(16)} ${await median(() => {
        const r = runKvLookups({ db: image, mode, keys: c.keys, requests: 1, keysPerRequest: c.keys.length, ...budget });
        return r.xrpPartial > 0 ? 'LIMIT' : 'answer';
      })}`);
    }
    if (c.readsMax === undefined) {
      const source = new FileBlockSource(c.raw);
      console.log(`  ${'reference'.padEnd(16)} ${await median(() => (c.keys.map((k) => lookupKey(source, k)), 'answer'))}`);
      source.close();
    }
    const engines: [string, XrpEngine][] = [];
    const emulated = await EmulatedXrpEngine.open(c.raw, { cores: 2 });
    await emulated.load(KV_GET_OBJECT, 'kv_get');
    engines.push(['emulated engine', emulated], ['native engine', await openKvEngine(c.raw, 'get', { workers: 1 })]);
    for (const [name, engine] of engines) {
      console.log(`  ${name.padEnd(16)} ${await median(async () => {
        const r = await nativeKvGet(c.raw, c.keys, { engine, ...budget });
        return r.partial ? 'LIMIT' : 'answer';
      })}`);
      await engine.close();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
