// The measurement behind `xrp stack breakdown`: one thread issues random
// 512-byte (or `readBytes`) O_DIRECT pread()s of a file through the whole
// emulated path, one at a time (queue depth 1, like the paper's Table 1
// measurement), and reports the mean virtual time spent in each layer.

import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { LAYER_NAMES, TABLE1_NS } from './costs.ts';
import { errnoName } from './errno.ts';
import { Machine } from './machine.ts';
import { O_DIRECT, O_RDONLY } from './syscalls.ts';
import { Histogram } from '../sim/histogram.ts';
import type { LatencySummary } from '../sim/histogram.ts';
import type { SimThread, Task } from '../sim/thread.ts';
import { SimError } from '../sim/errors.ts';
import { at } from '../base/checked.ts';

export interface BreakdownOptions {
  device: string;
  reads: number;
  readBytes?: number;
  fileBytes?: number;
  seed?: number;
}

export interface LayerRow {
  name: string;
  meanNs: number;
  /** Table 1's value for the layer (null for rows Table 1 does not have). */
  table1Ns: number | null;
}

export interface BreakdownResult {
  device: string;
  reads: number;
  readBytes: number;
  rows: LayerRow[];
  totalMeanNs: number;
  latency: LatencySummary;
  /** Share of the mean latency spent in software (everything but the device). */
  softwareShare: number;
}

const TABLE1_BY_ROW: (number | null)[] = [
  TABLE1_NS.crossing, TABLE1_NS.readSyscall, TABLE1_NS.fs, TABLE1_NS.bio, TABLE1_NS.nvmeDriver, TABLE1_NS.device, null,
];

export function runStackBreakdown(options: BreakdownOptions): BreakdownResult {
  const readBytes = options.readBytes ?? 512;
  const fileBytes = options.fileBytes ?? 16 << 20;
  if (!Number.isSafeInteger(options.reads) || options.reads < 1 || options.reads > 10_000_000) {
    throw new SimError(`--reads must be an integer 1..10000000, got ${String(options.reads)}`);
  }
  if (!Number.isSafeInteger(readBytes) || readBytes < 512 || readBytes % 512 !== 0 || readBytes > fileBytes) {
    throw new SimError(`read size must be a multiple of 512 from 512 to ${fileBytes}, got ${String(readBytes)}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'xrp-stack-'));
  try {
    const m = Machine.boot({ imagePath: join(dir, 'stack.img'), mkfsBytes: fileBytes + (8 << 20), profile: options.device, cores: 1, seed: options.seed ?? 1 });
    try {
      // A file of real, position-dependent bytes (unwritten blocks would read without I/O).
      const inode = m.fs.create('data');
      const chunk = new Uint8Array(1 << 20);
      for (let off = 0; off < fileBytes; off += chunk.length) {
        for (let i = 0; i < chunk.length; i += 4) new DataView(chunk.buffer).setUint32(i, (off + i) >>> 0, true);
        m.fs.write(inode, off, chunk.subarray(0, Math.min(chunk.length, fileBytes - off)));
      }
      const proc = m.kernel.createProcess('stack-breakdown');
      const buf = proc.alloc(readBytes, 4096, 'buf');
      const hist = new Histogram();
      const slots = Math.floor(fileBytes / readBytes);
      let failure: string | null = null;
      function* body(t: SimThread): Task {
        const fd = yield* proc.open(t, 'data', O_RDONLY | O_DIRECT);
        if (fd < 0) {
          failure = `open: ${errnoName(fd)}`;
          return;
        }
        m.kernel.breakdown.reset();
        m.kernel.breakdown.enabled = true;
        for (let i = 0; i < options.reads; i++) {
          const off = m.sim.rng.nextBelow(slots) * readBytes;
          const start = t.nowNs;
          const r = yield* proc.pread(t, fd, buf, readBytes, off);
          if (r !== readBytes) {
            failure = `pread at ${off}: ${r < 0 ? errnoName(r) : `${r} bytes`}`;
            return;
          }
          // Check the bytes: the file holds its own offsets.
          const got = new DataView(proc.mem.u8.buffer, buf, 4).getUint32(0, true);
          if (got !== off >>> 0) {
            failure = `pread at ${off} returned wrong data (${got})`;
            return;
          }
          hist.record(t.nowNs - start);
        }
        yield* proc.close(t, fd);
      }
      m.sim.spawn('reader', body, { affinity: [0] });
      m.sim.run();
      if (failure !== null) throw new SimError(`stack breakdown failed: ${failure}`);
      const bd = m.kernel.breakdown;
      const rows: LayerRow[] = [];
      for (const [i, name] of LAYER_NAMES.entries()) rows.push({ name, meanNs: bd.meanNs(i), table1Ns: at(TABLE1_BY_ROW, i, `Table 1 row of ${name}`) });
      const total = bd.totalMeanNs();
      return {
        device: options.device,
        reads: bd.reads,
        readBytes,
        rows,
        totalMeanNs: total,
        latency: hist.summary(),
        softwareShare: total === 0 ? 0 : 1 - bd.meanNs(5) / total,
      };
    } finally {
      m.shutdown();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The table `xrp stack breakdown` prints. */
export function formatBreakdown(r: BreakdownResult): string {
  const lines: string[] = [];
  lines.push(`${r.reads} random ${r.readBytes}-byte O_DIRECT pread()s at queue depth 1, device ${r.device}`);
  lines.push('');
  const showTable1 = r.device === 'optane-p5800x' && r.readBytes === 512;
  lines.push(`${'layer'.padEnd(24)}${'mean ns'.padStart(10)}${'share'.padStart(9)}${showTable1 ? `${'Table 1'.padStart(10)}${'diff'.padStart(9)}` : ''}`);
  for (const row of r.rows) {
    let line = `${row.name.padEnd(24)}${row.meanNs.toFixed(1).padStart(10)}${`${((100 * row.meanNs) / r.totalMeanNs).toFixed(1)}%`.padStart(9)}`;
    if (showTable1) {
      if (row.table1Ns === null) line += `${'-'.padStart(10)}${'-'.padStart(9)}`;
      else line += `${String(row.table1Ns).padStart(10)}${`${((100 * (row.meanNs - row.table1Ns)) / row.table1Ns).toFixed(2)}%`.padStart(9)}`;
    }
    lines.push(line);
  }
  lines.push(`${'total'.padEnd(24)}${r.totalMeanNs.toFixed(1).padStart(10)}${'100.0%'.padStart(9)}${showTable1 ? `${'6272'.padStart(10)}` : ''}`);
  lines.push('');
  lines.push(`software share ${(100 * r.softwareShare).toFixed(1)}%  latency p50 ${r.latency.p50Ns} ns  p99 ${r.latency.p99Ns} ns  max ${r.latency.maxNs} ns`);
  return lines.join('\n');
}
