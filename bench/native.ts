// The native engine against the ordinary ways of doing a BPF-KV point lookup
// (L+1 dependent 512-byte reads) on a real file, from Node.js:
//   (a) main-async: per-hop `await fileHandle.read` on the main thread (each read
//       crosses to libuv's thread pool and back to the event loop);
//   (b) worker-sync: the whole lookup in one worker with per-hop readSync,
//       one postMessage request and reply per lookup;
//   (c) engine: NativeXrpEngine running kv_get (bpf/kv/get.bpf.o), one key per
//       readXrp, so the chain costs one crossing through the shared rings;
// at 1 and 64 lookups in flight, page-cached and O_DIRECT. Prints lookups/s,
// p50/p99 latency, the ratios against (a), the load and the machine.
//
// Run: npm run bench:native [-- --layers 5 --seconds 3 --workers 1,2 --direct-workers 8 --path /var/tmp/x.db --json out.json]

import { closeSync, constants, existsSync, openSync, readSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { cpus, loadavg, release } from 'node:os';
import { Worker } from 'node:worker_threads';
import { buildKvFile } from '../src/kv/builder.ts';
import { kvGeometry } from '../src/kv/format.ts';
import { writeSgQuery } from '../src/kv/scratch.ts';
import { XrpStatus } from '../src/xrp/status.ts';
import { probeDirect } from '../src/native/engine.ts';
import { openKvEngine } from '../src/kv/xrp-client.ts';
import { benchArgs } from './args.ts';

const cl = benchArgs({
  script: 'bench/native.ts',
  usage: 'Usage: npm run bench:native [-- --layers 5 --seconds 3 --workers 1,2 --direct-workers 8 --path /var/tmp/x.db --json out.json]\n' +
    '  --layers N          BPF-KV layers: 4 (75 MB, default) or 5 (2.3 GB)\n' +
    '  --seconds S         seconds per case (default 2)\n' +
    '  --workers LIST      engine worker counts, comma-separated (default 1,2)\n' +
    '  --direct-workers N  engine workers under O_DIRECT (default 8)\n' +
    '  --path FILE         the BPF-KV file (default /var/tmp/xrp-native-bench-L<layers>.db)\n' +
    '  --json FILE         also write the rows as JSON\n' +
    '  --no-direct         page-cached runs only (no O_DIRECT)\n' +
    '  --only LIST         modes, comma-separated: main-async,worker-sync,engine (default all)\n' +
    '  --in-flight LIST    lookups in flight, comma-separated (default 1,64)\n' +
    '  --spin-us US        engine: microseconds a worker polls its ring before sleeping (default: the engine\'s)\n' +
    '  --poll-us US        engine: microseconds the main thread polls per event-loop turn (default: the engine\'s)\n' +
    '  --backoff N         engine: polling windows skipped at most after one ran out (default: the engine\'s)\n' +
    '  --no-fstat          engine: no fstat after each request (no file-change detection)',
  options: {
    layers: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '2' },
    /** engine worker counts to measure, comma-separated */
    workers: { type: 'string', default: '1,2' },
    path: { type: 'string' },
    json: { type: 'string' },
    'no-direct': { type: 'boolean', default: false },
    /** workers of the engine under O_DIRECT, where a worker blocks in the device: more of them = more reads in flight */
    'direct-workers': { type: 'string', default: '8' },
    /** modes to run, comma-separated: main-async,worker-sync,engine */
    only: { type: 'string', default: 'main-async,worker-sync,engine' },
    /** lookups in flight to measure, comma-separated */
    'in-flight': { type: 'string', default: '1,64' },
    /** engine: microseconds a worker polls its ring after a request before sleeping (default: the engine's) */
    'spin-us': { type: 'string' },
    /** engine: microseconds the main thread polls for completions on each event-loop turn before awaiting the doorbell (default: the engine's) */
    'poll-us': { type: 'string' },
    /** engine: polling windows / spins skipped at most after one ran out (default: the engine's) */
    backoff: { type: 'string' },
    /** engine: no fstat after each request (no file-change detection) */
    'no-fstat': { type: 'boolean', default: false },
  },
});
const args = cl.values;
const layers = Number(args.layers);
if (layers !== 4 && layers !== 5) cl.fail(`--layers must be 4 (75 MB) or 5 (2.3 GB), got '${args.layers}'`);
const seconds = cl.positiveNumber('--seconds', args.seconds);
const workerCounts = cl.positiveIntList('--workers', args.workers);
const directWorkers = cl.positiveInt('--direct-workers', args['direct-workers']);
const MODES = ['main-async', 'worker-sync', 'engine'];
const modes = new Set(args.only.split(','));
for (const m of modes) if (!MODES.includes(m)) cl.fail(`--only: unknown mode '${m}' (modes: ${MODES.join(', ')})`);
const inFlights = cl.positiveIntList('--in-flight', args['in-flight']);
for (const name of ['spin-us', 'poll-us'] as const) {
  const text = args[name];
  if (text !== undefined && cl.finiteNumber(`--${name}`, text) < 0) cl.fail(`--${name} must be >= 0, got '${text}'`);
}
if (args.backoff !== undefined) cl.nonNegativeInt('--backoff', args.backoff);
const geometry = kvGeometry(layers);
const path = args.path ?? `/var/tmp/xrp-native-bench-L${layers}.db`;
const MAX_KEY = geometry.keyCount;
const VALUE_BASE = geometry.logOffsetBytes;
const HOPS = layers + 1;

// ---- the file ----
const expectedBytes = geometry.fileBytes;
if (!existsSync(path) || statSync(path).size !== expectedBytes) {
  const t = performance.now();
  await buildKvFile(path, { layers });
  console.log(`built ${path} (${layers} layers, ${expectedBytes} bytes) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}
{
  // page-cache warm-up: read the whole file once
  const fd = openSync(path, 'r');
  const chunk = Buffer.alloc(1 << 20);
  for (let pos = 0; readSync(fd, chunk, 0, chunk.length, pos) > 0; pos += chunk.length);
  closeSync(fd);
}

// ---- the lookup, as lean as the baselines can make it (keys < 2^32 for L <= 6) ----
// A step looks at the block just read and returns the next offset to read, -1 for
// "not found", or -2 for "this was the value block and it is right".
const STEP_SRC = `
function makeStep(valueBase) {
  return function step(view, at, key, state) {
    if (state.value >= 0) {
      const within = state.value % 512;
      state.value = -1;
      return view.getUint8(at + within + 62) === 48 + (key % 10) ? -2 : -3;
    }
    const type = view.getUint32(at + 8, true);
    if (type === 1) {
      for (let i = 0; i < 31; i++) {
        if (view.getUint32(at + 16 + 8 * i, true) === key) {
          const off = view.getUint32(at + 264 + 8 * i, true) + (view.getUint32(at + 268 + 8 * i, true) & 0x7fffffff) * 4294967296;
          state.value = off;
          return off - (off % 512);
        }
      }
      return -1;
    }
    let i = 1;
    while (i < 31 && !(key < view.getUint32(at + 16 + 8 * i, true))) i++;
    return view.getUint32(at + 264 + 8 * (i - 1), true) + (view.getUint32(at + 268 + 8 * (i - 1), true) & 0x7fffffff) * 4294967296;
  };
}`;
type Step = (view: DataView, at: number, key: number, state: { value: number }) => number;
// the same source for the main thread and the worker (a string, so that the worker needs no TypeScript loader)
const step = (new Function(`${STEP_SRC}; return makeStep;`)() as (valueBase: number) => Step)(VALUE_BASE);

// ---- measurement ----
interface Row {
  mode: string;
  io: 'cached' | 'direct';
  inFlight: number;
  lookupsPerSec: number;
  p50Us: number;
  p99Us: number;
  lookups: number;
  /** CPU time of the whole process (all threads, libuv's pool included) per lookup */
  cpuUsPerLookup: number;
}
const rows: Row[] = [];

function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** Runs `inFlight` loops of `lookup` for the configured time (after a warm-up); every lookup must find its key. */
async function measure(mode: string, io: 'cached' | 'direct', inFlight: number, lookup: (key: number, slot: number) => Promise<boolean>): Promise<Row> {
  const run = async (durationMs: number, record: boolean): Promise<{ latUs: number[]; elapsedMs: number }> => {
    const latUs: number[] = [];
    const start = performance.now();
    const deadline = start + durationMs;
    await Promise.all(
      Array.from({ length: inFlight }, async (_, slot) => {
        const next = xorshift(0x9e3779b9 + slot * 7919 + (record ? 1 : 2));
        while (performance.now() < deadline) {
          const key = next() % MAX_KEY;
          const t = performance.now();
          if (!(await lookup(key, slot))) throw new Error(`${mode}: key ${key} not found or wrong value`);
          if (record) latUs.push((performance.now() - t) * 1000);
        }
      }),
    );
    return { latUs, elapsedMs: performance.now() - start };
  };
  await run(Math.min(500, seconds * 250), false);
  const cpu0 = process.cpuUsage();
  const { latUs, elapsedMs } = await run(seconds * 1000, true);
  const cpu = process.cpuUsage(cpu0);
  latUs.sort((x, y) => x - y);
  const row: Row = {
    mode,
    io,
    inFlight,
    lookupsPerSec: latUs.length / (elapsedMs / 1000),
    p50Us: latUs[Math.floor(latUs.length * 0.5)] ?? NaN,
    p99Us: latUs[Math.floor(latUs.length * 0.99)] ?? NaN,
    lookups: latUs.length,
    cpuUsPerLookup: (cpu.user + cpu.system) / latUs.length,
  };
  rows.push(row);
  console.log(
    `${mode.padEnd(12)} ${io.padEnd(6)} in flight ${String(inFlight).padStart(2)}: ${Math.round(row.lookupsPerSec).toLocaleString('en-US').padStart(9)} lookups/s  p50 ${row.p50Us.toFixed(1).padStart(7)} us  p99 ${row.p99Us.toFixed(1).padStart(8)} us  CPU ${row.cpuUsPerLookup.toFixed(1).padStart(6)} us/lookup  (load ${loadavg()[0]!.toFixed(2)})`,
  );
  return row;
}

/** Aligned 4096-byte pages (a WebAssembly.Memory is page-aligned), one per lookup in flight: what O_DIRECT needs. */
function alignedPages(count: number): { u8: Uint8Array; view: DataView } {
  const memory = new WebAssembly.Memory({ initial: Math.ceil((count * 4096) / 65536) });
  return { u8: new Uint8Array(memory.buffer), view: new DataView(memory.buffer) };
}

// (a) per-hop await fileHandle.read on the main thread
async function mainAsync(io: 'cached' | 'direct', inFlight: number): Promise<Row> {
  const fh = await open(path, constants.O_RDONLY | (io === 'direct' ? constants.O_DIRECT : 0));
  const pages = alignedPages(inFlight);
  try {
    return await measure('main-async', io, inFlight, async (key, slot) => {
      const at = slot * 4096;
      const state = { value: -1 };
      let off = 0;
      for (let hop = 0; hop <= HOPS; hop++) {
        const { bytesRead } = await fh.read(pages.u8, at, 512, off);
        if (bytesRead !== 512) return false;
        off = step(pages.view, at, key, state);
        if (off === -2) return true;
        if (off < 0) return false;
      }
      return false;
    });
  } finally {
    await fh.close();
  }
}

// (b) one worker, per-hop readSync, one postMessage per lookup
const WORKER_SRC = `
const { parentPort, workerData } = require('node:worker_threads');
const { openSync, readSync, constants } = require('node:fs');
${STEP_SRC}
const step = makeStep(workerData.valueBase);
const fd = openSync(workerData.path, constants.O_RDONLY | (workerData.direct ? constants.O_DIRECT : 0));
const memory = new WebAssembly.Memory({ initial: 1 });
const u8 = new Uint8Array(memory.buffer);
const view = new DataView(memory.buffer);
parentPort.on('message', ([id, key]) => {
  const state = { value: -1 };
  let off = 0;
  let found = false;
  for (let hop = 0; hop <= workerData.hops; hop++) {
    if (readSync(fd, u8, 0, 512, off) !== 512) break;
    off = step(view, 0, key, state);
    if (off === -2) { found = true; break; }
    if (off < 0) break;
  }
  parentPort.postMessage([id, found]);
});
`;

async function workerSync(io: 'cached' | 'direct', inFlight: number): Promise<Row> {
  const worker = new Worker(WORKER_SRC, { eval: true, workerData: { path, direct: io === 'direct', valueBase: VALUE_BASE, hops: HOPS } });
  const waiting = new Map<number, (found: boolean) => void>();
  worker.on('message', ([id, found]: [number, boolean]) => {
    const resolve = waiting.get(id)!;
    waiting.delete(id);
    resolve(found);
  });
  let nextId = 0;
  try {
    return await measure('worker-sync', io, inFlight, (key) => {
      const id = nextId++;
      return new Promise<boolean>((resolve) => {
        waiting.set(id, resolve);
        worker.postMessage([id, key]);
      });
    });
  } finally {
    await worker.terminate();
  }
}

// (c) the engine: kv_get, one key per request
async function engine(io: 'cached' | 'direct', inFlight: number, workers: number): Promise<Row> {
  const e = await openKvEngine(path, 'get', {
    workers,
    direct: io === 'direct',
    queueDepth: 64,
    ...(args['spin-us'] !== undefined ? { workerSpinUs: Number(args['spin-us']) } : {}),
    ...(args['poll-us'] !== undefined ? { pollUs: Number(args['poll-us']) } : {}),
    ...(args.backoff !== undefined ? { pollBackoffMax: Number(args.backoff) } : {}),
    checkFileChange: !args['no-fstat'],
  });
  const scratches = Array.from({ length: inFlight }, () => new Uint8Array(4096));
  try {
    return await measure(`engine ${workers}w`, io, inFlight, async (key, slot) => {
      const scratch = scratches[slot]!;
      writeSgQuery(scratch, [BigInt(key)]);
      const r = await e.readXrp(0, scratch);
      // values[0] = { found @288, value @289 }: "%63lu", so the last digit is at 289 + 62
      return r.status === XrpStatus.DONE && r.reads === HOPS && scratch[288] === 1 && scratch[289 + 62] === 48 + (key % 10);
    });
  } finally {
    const st = e.pollingStats;
    console.log(`  (engine ${workers}w: main polls caught ${st.pollCaught}, ran out ${st.pollExpired}; worker spins caught ${st.spinCaught}, ran out ${st.spinExpired})`);
    await e.close();
  }
}

console.log(
  `BPF-KV ${layers} layers (${HOPS} reads per lookup), ${path}; ${seconds} s per case; engine workers ${workerCounts.join(', ')} (O_DIRECT: ${directWorkers})` +
    `${args['no-fstat'] ? ', no fstat' : ''}${args['spin-us'] !== undefined ? `, worker spin ${args['spin-us']} us` : ''}${args['poll-us'] !== undefined ? `, main poll ${args['poll-us']} us` : ''}${args.backoff !== undefined ? `, backoff max ${args.backoff}` : ''}`,
);
console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, Linux ${release()}, Node ${process.version}; load average at start ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const ios: ('cached' | 'direct')[] = ['cached'];
if (!args['no-direct']) {
  const probe = probeDirect(path);
  if (probe.ok) ios.push('direct');
  else console.log(`O_DIRECT skipped: ${probe.reason}`);
}
for (const io of ios) {
  for (const inFlight of inFlights) {
    const a = modes.has('main-async') ? await mainAsync(io, inFlight) : undefined;
    if (modes.has('worker-sync')) await workerSync(io, inFlight);
    if (!modes.has('engine')) continue;
    for (const workers of io === 'direct' ? [directWorkers] : workerCounts) {
      const c = await engine(io, inFlight, workers);
      if (a !== undefined) console.log(`  -> engine ${workers}w / main-async (${io}, ${inFlight} in flight): ${(c.lookupsPerSec / a.lookupsPerSec).toFixed(2)}x throughput`);
    }
  }
}
console.log(`load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
if (args.json !== undefined) writeFileSync(args.json, JSON.stringify({ layers, seconds, workerCounts, directWorkers, loadavg: loadavg(), rows }, null, 2));
