// XRP on the emulated stack (optane-p5800x): virtual-time latency of chain
// lookups by hop count with pread() vs read_xrp, parallel vs serial fan-out, and
// throughput of 6-hop lookups by thread count on 6 cores. Results are exact
// virtual times (deterministic), independent of the host's load.
//
//   node --import tsx bench/xrp.ts [--ms N]   (virtual milliseconds per scaling point, default 20)

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Machine } from '../src/kernel/machine.ts';
import { O_DIRECT, O_RDONLY, type Process } from '../src/kernel/syscalls.ts';
import { loadXrpProgramFile, readXrp, XrpStatus } from '../src/kernel/xrp/index.ts';
import { Histogram } from '../src/sim/histogram.ts';
import type { SimThread, Task } from '../src/sim/thread.ts';
import { benchArgs } from './args.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const CHAIN = join(root, 'bpf/examples/chain.bpf.o');
const WALK = join(root, 'bpf/xrp/walk.bpf.o');
const cl = benchArgs({
  script: 'bench/xrp.ts',
  usage: 'Usage: node --import tsx bench/xrp.ts [--ms N]\n  --ms N  virtual milliseconds per scaling point (default 20)',
  options: { ms: { type: 'string', default: '20' } },
});
const POINT_NS = cl.positiveNumber('--ms', cl.values.ms) * 1_000_000;
if (!Number.isSafeInteger(POINT_NS)) cl.fail(`--ms must be a whole number of nanoseconds, got '${cl.values.ms}'`);

class Rng {
  private x: number;
  constructor(seed: number) {
    this.x = seed >>> 0 || 1;
  }
  below(n: number): number {
    this.x ^= this.x << 13;
    this.x >>>= 0;
    this.x ^= this.x >>> 17;
    this.x ^= this.x << 5;
    this.x >>>= 0;
    return this.x % n;
  }
}

/** `chains` chains of `hops` 512-byte blocks, interleaved at random over the file. Returns the bytes and the chain heads. */
function chainsFile(chains: number, hops: number, seed: number): { bytes: Uint8Array; heads: number[] } {
  const rng = new Rng(seed);
  const blocks = chains * hops + 1;
  const ids = Array.from({ length: blocks - 1 }, (_, i) => i + 1);
  for (let i = ids.length - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  const bytes = new Uint8Array(blocks * 512);
  const v = new DataView(bytes.buffer);
  const heads: number[] = [];
  for (let c = 0; c < chains; c++) {
    const offs = ids.slice(c * hops, (c + 1) * hops).map((b) => b * 512);
    offs.forEach((o, i) => v.setBigUint64(o, BigInt(offs[i + 1] ?? 0), true));
    heads.push(offs[0]!);
  }
  return { bytes, heads };
}

function withMachine<T>(cores: number, fn: (m: Machine) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'xrp-bench-'));
  const m = Machine.boot({ imagePath: join(dir, 'b.img'), mkfsBytes: 64 << 20, cores, seed: 1, profile: 'optane-p5800x' });
  try {
    return fn(m);
  } finally {
    m.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Ctx { fd: number; progFd: number; data: number; scratch: number }

function* open(t: SimThread, p: Process, name: string, obj: string, prog: string): Task<Ctx> {
  const fd = yield* p.open(t, name, O_RDONLY | O_DIRECT);
  const progFd = yield* loadXrpProgramFile(t, p, obj, prog);
  return { fd, progFd, data: p.alloc(4096), scratch: p.alloc(4096) };
}

function* lookup(t: SimThread, p: Process, c: Ctx, head: number, mode: 'pread' | 'xrp'): Task<number> {
  if (mode === 'xrp') {
    p.bytes(c.scratch, 16).fill(0);
    const r = yield* readXrp(t, p, c.fd, c.data, 512, head, c.progFd, c.scratch);
    if (typeof r === 'number' || r.status !== XrpStatus.DONE) throw new Error('read_xrp failed');
    return r.reads;
  }
  let off = head;
  let n = 0;
  while (off !== 0) {
    if ((yield* p.pread(t, c.fd, c.data, 512, off)) !== 512) throw new Error('pread failed');
    n++;
    off = Number(p.mem.view.getBigUint64(c.data, true));
  }
  return n;
}

// ---- 1. latency by hop count ----
console.log('chain lookup latency, one thread, idle machine (virtual ns)');
console.log('hops    pread walk    read_xrp   speed-up');
for (const hops of [1, 2, 3, 4, 6, 8, 16, 32]) {
  const f = chainsFile(1, hops, hops);
  const [pr, xr] = (['pread', 'xrp'] as const).map((mode) => withMachine(2, (m) => {
    m.fs.write(m.fs.create('c'), 0, f.bytes);
    const p = m.kernel.createProcess('app');
    let ns = 0;
    m.sim.spawn('app', function* (t) {
      const c = yield* open(t, p, 'c', CHAIN, 'chain');
      const t0 = t.nowNs;
      yield* lookup(t, p, c, f.heads[0]!, mode);
      ns = t.nowNs - t0;
    }, { affinity: [0] });
    m.sim.run();
    return ns;
  }));
  console.log(`${String(hops).padStart(4)} ${String(pr).padStart(12)} ${String(xr).padStart(11)} ${(pr! / xr!).toFixed(2).padStart(9)}x`);
}

// ---- 2. fan-out ----
console.log('\nfan-out: a root with 16 children of 512..4096 bytes (walk.bpf.o), one request (virtual ns)');
{
  const bytes = new Uint8Array(20 * 4096);
  const v = new DataView(bytes.buffer);
  const node = (off: number, op: number, n: number, self: number, kids: number[], sizes: number[]): void => {
    v.setUint32(off, op, true);
    v.setUint32(off + 4, n, true);
    v.setBigUint64(off + 16, BigInt(self), true);
    kids.forEach((k, i) => v.setBigUint64(off + 24 + 8 * i, BigInt(k), true));
    sizes.forEach((s, i) => v.setBigUint64(off + 152 + 8 * i, BigInt(s), true));
  };
  const kids = Array.from({ length: 16 }, (_, i) => (i + 2) * 4096);
  const sizes = kids.map((_, i) => 512 * (1 + (i % 8)));
  node(4096, 3, 16, 512, kids, sizes);
  kids.forEach((k, i) => node(k, 0, 0, sizes[i]!, [], []));
  for (const cores of [2, 6]) {
    const out = (['parallel', 'serial'] as const).map((fanout) => withMachine(cores, (m) => {
      m.fs.write(m.fs.create('t'), 0, bytes);
      const p = m.kernel.createProcess('app');
      let res = '';
      m.sim.spawn('app', function* (t) {
        const c = yield* open(t, p, 't', WALK, 'walk');
        const r = yield* readXrp(t, p, c.fd, c.data, 512, 4096, c.progFd, c.scratch, { fanout });
        if (typeof r === 'number' || r.status !== XrpStatus.DONE || r.reads !== 17) throw new Error('fan-out failed');
        res = `${fanout.padEnd(8)} ${String(r.latencyNs).padStart(7)} ns  commands ${r.commands}  hook CPU ${r.hookCpuNs} ns`;
      }, { affinity: [0] });
      m.sim.run();
      return res;
    }));
    for (const line of out) console.log(`${cores} cores  ${line}`);
  }
}

// ---- 3. throughput by thread count ----
console.log(`\n6-hop lookups by thread count, 6 cores, ${POINT_NS / 1e6} virtual ms per point`);
console.log('threads  mode    lookups/s   mean ns     p99 ns');
const f6 = chainsFile(2000, 6, 66);
for (const threads of [1, 6, 12, 24]) {
  for (const mode of ['pread', 'xrp'] as const) {
    const r = withMachine(6, (m) => {
      m.fs.write(m.fs.create('c'), 0, f6.bytes);
      const hist = new Histogram();
      let done = 0;
      for (let i = 0; i < threads; i++) {
        const p = m.kernel.createProcess(`app${i}`);
        const rng = new Rng(1000 + i);
        m.sim.spawn(`app${i}`, function* (t) {
          const c = yield* open(t, p, 'c', CHAIN, 'chain');
          while (t.nowNs < POINT_NS) {
            const t0 = t.nowNs;
            if ((yield* lookup(t, p, c, f6.heads[rng.below(f6.heads.length)]!, mode)) !== 6) throw new Error('wrong hop count');
            hist.record(t.nowNs - t0);
            done++;
          }
        });
      }
      m.sim.run();
      const s = hist.summary();
      return { perSec: (done / m.sim.nowNs) * 1e9, meanNs: s.meanNs, p99Ns: s.p99Ns };
    });
    console.log(`${String(threads).padStart(7)}  ${mode.padEnd(5)} ${(r.perSec / 1000).toFixed(1).padStart(9)}k ${r.meanNs.toFixed(0).padStart(9)} ${String(r.p99Ns).padStart(10)}`);
  }
}
