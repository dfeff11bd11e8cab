// Threads doing random O_DIRECT pread()s of one file through the full emulated
// read path (syscall, file system, block layer, NVMe driver, device, interrupt,
// wake-up), on a freshly made image. Used by bench/sim.ts.

import { join } from 'node:path';
import { Machine } from '../../src/kernel/machine.ts';
import { errnoName } from '../../src/kernel/errno.ts';
import { O_DIRECT, O_RDONLY } from '../../src/kernel/syscalls.ts';
import { Histogram } from '../../src/sim/histogram.ts';
import type { LatencySummary } from '../../src/sim/histogram.ts';
import type { SimThread, Task } from '../../src/sim/thread.ts';

export interface ReadPathOptions {
  dir: string;
  fileBytes: number;
  profile: string;
  cores: number;
  threads: number;
  seed: number;
  readBytes?: number;
}

export interface ReadPathResult {
  latency: LatencySummary;
  commands: number;
  simNs: number;
  iops: number;
  events: number;
}

/** Makes the image and file once (host work, not measured); returns a runner taking reads per thread. */
export function prepareReadPath(options: ReadPathOptions): (readsPerThread: number) => ReadPathResult {
  const imagePath = join(options.dir, 'read-path.img');
  const m = Machine.boot({ imagePath, mkfsBytes: options.fileBytes + (8 << 20), profile: options.profile, cores: options.cores, seed: options.seed });
  try {
    const inode = m.fs.create('data');
    const chunk = new Uint8Array(1 << 20);
    for (let off = 0; off < options.fileBytes; off += chunk.length) {
      for (let i = 0; i < chunk.length; i += 4) new DataView(chunk.buffer).setUint32(i, (off + i) >>> 0, true);
      m.fs.write(inode, off, chunk.subarray(0, Math.min(chunk.length, options.fileBytes - off)));
    }
  } finally {
    m.shutdown();
  }
  return (readsPerThread) => runReadPath(imagePath, options, readsPerThread);
}

function runReadPath(imagePath: string, options: ReadPathOptions, readsPerThread: number): ReadPathResult {
  const m = Machine.boot({ imagePath, profile: options.profile, cores: options.cores, seed: options.seed });
  try {
    const readBytes = options.readBytes ?? 512;
    const slots = Math.floor(options.fileBytes / readBytes);
    const hist = new Histogram();
    const proc = m.kernel.createProcess('bench', Math.max(16 << 20, options.threads * 8192 + (1 << 20)));
    let failure: string | null = null;
    function* reader(t: SimThread): Task {
      const buf = proc.alloc(readBytes, 4096, `buf-${t.name}`);
      const fd = yield* proc.open(t, 'data', O_RDONLY | O_DIRECT);
      if (fd < 0) {
        failure = `open: ${errnoName(fd)}`;
        return;
      }
      const view = new DataView(proc.mem.u8.buffer, buf, 4);
      for (let i = 0; i < readsPerThread; i++) {
        const off = m.sim.rng.nextBelow(slots) * readBytes;
        const start = t.nowNs;
        const r = yield* proc.pread(t, fd, buf, readBytes, off);
        if (r !== readBytes || view.getUint32(0, true) !== off >>> 0) {
          failure = `pread at ${off}: ${r < 0 ? errnoName(r) : `${r} bytes, data ${view.getUint32(0, true)}`}`;
          return;
        }
        hist.record(t.nowNs - start);
      }
      yield* proc.close(t, fd);
    }
    for (let i = 0; i < options.threads; i++) m.sim.spawn(`reader-${i}`, reader);
    m.sim.run();
    if (failure !== null) throw new Error(`read path bench failed: ${failure}`);
    const commands = m.controller.stats.reads;
    return {
      latency: hist.summary(),
      commands,
      simNs: m.sim.nowNs,
      iops: m.sim.nowNs === 0 ? 0 : Math.round((commands * 1e9) / m.sim.nowNs),
      events: m.sim.eventCount,
    };
  } finally {
    m.shutdown();
  }
}
