// io_uring vs read(): one application thread doing 512-byte random O_DIRECT
// reads on optane-p5800x, in batches of N (io_uring_submit_and_wait of N SQEs),
// with and without SQPOLL (the poller on a second core). Prints simulated IOPS,
// mean per-read latency (submission of the batch to its CQE) and application
// CPU per read. Everything comes from Table 1's layer costs (see src/kernel/io-uring.ts).
//
//   node --import tsx bench/io-uring.ts [--reads N]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IORING_OP_READ, IoUring, ioUringSetup } from '../src/kernel/io-uring.ts';
import { Machine } from '../src/kernel/machine.ts';
import { O_DIRECT, O_RDONLY } from '../src/kernel/syscalls.ts';
import { Histogram } from '../src/sim/histogram.ts';
import { benchArgs } from './args.ts';

const cl = benchArgs({
  script: 'bench/io-uring.ts',
  usage: 'Usage: node --import tsx bench/io-uring.ts [--reads N]\n  --reads N  random 512-byte reads per configuration, at least 64 (default 64000)',
  options: { reads: { type: 'string', default: '64000' } },
});
const READS = cl.positiveInt('--reads', cl.values.reads);
if (READS < 64) cl.fail(`--reads must be an integer >= 64, got '${cl.values.reads}'`);
const FILE_BYTES = 32 << 20;

type Mode = 'pread' | 'io_uring' | 'io_uring+SQPOLL';

function run(dir: string, mode: Mode, batch: number): { iops: number; meanNs: number; p99Ns: number; cpuPerReadNs: number } {
  const m = Machine.boot({ imagePath: join(dir, 'b.img'), mkfsBytes: FILE_BYTES + (4 << 20), cores: 2, seed: 1 });
  try {
    const f = m.fs.create('d');
    m.fs.write(f, 0, new Uint8Array(FILE_BYTES).fill(7));
    const p = m.kernel.createProcess('bench', 1 << 20);
    const bufs = Array.from({ length: batch }, () => p.alloc(512));
    const hist = new Histogram();
    const slots = FILE_BYTES / 512;
    let startNs = 0;
    let endNs = 0;
    let ring: IoUring | null = null;
    const app = m.sim.spawn('app', function* (t) {
      const fd = yield* p.open(t, 'd', O_RDONLY | O_DIRECT);
      if (mode !== 'pread') {
        const r = yield* ioUringSetup(t, p, { entries: batch, ...(mode === 'io_uring+SQPOLL' ? { sqpoll: true, sqThreadCpu: 1 } : {}) });
        if (typeof r === 'number') throw new Error(`io_uring_setup: ${r}`);
        ring = r;
      }
      startNs = t.nowNs;
      for (let done = 0; done < READS; done += batch) {
        const t0 = t.nowNs;
        if (ring === null) {
          for (let k = 0; k < batch; k++) {
            const s = t.nowNs;
            yield* p.pread(t, fd, bufs[k]!, 512, m.sim.rng.nextBelow(slots) * 512);
            hist.record(t.nowNs - s);
          }
          continue;
        }
        for (let k = 0; k < batch; k++) {
          const sqe = ring.getSqe()!;
          sqe.opcode = IORING_OP_READ;
          sqe.fd = fd;
          sqe.addr = bufs[k]!;
          sqe.len = 512;
          sqe.off = m.sim.rng.nextBelow(slots) * 512;
        }
        if (mode === 'io_uring') yield* ring.submitAndWait(t, batch);
        else {
          yield* ring.submit(t);
          while (ring.cqReady < batch) yield t.cpu(50); // poll the CQ ring in user space
        }
        for (let k = 0; k < batch; k++) ring.cqeSeen();
        const latency = t.nowNs - t0;
        for (let k = 0; k < batch; k++) hist.record(latency);
      }
      endNs = t.nowNs;
      if (ring !== null) ring.exit();
    }, { affinity: [0] });
    m.sim.run();
    const s = hist.summary();
    return { iops: (READS * 1e9) / (endNs - startNs), meanNs: s.meanNs, p99Ns: s.p99Ns, cpuPerReadNs: app.sumExecNs / READS };
  } finally {
    m.shutdown();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'xrp-bench-uring-'));
try {
  console.log(`one thread, ${READS} random 512 B O_DIRECT reads, optane-p5800x; latency = batch submission to completion`);
  console.log(`${'mode'.padEnd(18)}${'batch'.padStart(6)}${'k IOPS'.padStart(9)}${'mean ns'.padStart(10)}${'p99 ns'.padStart(9)}${'app CPU/read'.padStart(14)}`);
  for (const mode of ['pread', 'io_uring', 'io_uring+SQPOLL'] as Mode[]) {
    for (const batch of mode === 'pread' ? [1] : [1, 4, 16, 32]) {
      const r = run(dir, mode, batch);
      console.log(`${mode.padEnd(18)}${String(batch).padStart(6)}${(r.iops / 1e3).toFixed(0).padStart(9)}${r.meanNs.toFixed(0).padStart(10)}${String(r.p99Ns).padStart(9)}${`${r.cpuPerReadNs.toFixed(0)} ns`.padStart(14)}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
