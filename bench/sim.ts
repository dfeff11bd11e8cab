// Simulator speed: 6 threads doing 512-byte random reads on 6 simulated cores
// (optane-p5800x), printing simulated NVMe commands per second of wall time.
//
//   npm run bench:sim [-- --commands N] [--threads N] [--image-mib N] [--path raw]
//
// Path "raw": threads go straight to the kernel NVMe driver (submit, sleep,
// completion interrupt, wake-up) and the layers above it are charged as CPU
// time with Table 1's costs. It exercises the scheduler, the event queue, the
// device and the image file like the full read() path, without the file system.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRawReads } from './harness/raw-nvme.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

const commands = Number(arg('commands', '3000000'));
const path = arg('path', 'raw');
if (!Number.isSafeInteger(commands) || commands < 1) throw new Error(`--commands must be a positive integer, got ${arg('commands', '')}`);
if (path !== 'raw') throw new Error(`--path must be raw, got ${path}`);
const THREADS = Number(arg('threads', '6'));
if (!Number.isSafeInteger(THREADS) || THREADS < 1 || THREADS > 1024) throw new Error(`--threads must be 1..1024, got ${arg('threads', '')}`);
const CORES = 6;
// Table 1: kernel crossing 351 + read syscall 199 + ext4 2006 + bio 379 ns above the driver.
const UPPER_LAYERS_NS = 351 + 199 + 2006 + 379;

// The image: --image-mib (default 8). Reads are random over all of it, so a larger image
// measures the host's memory (and, beyond the store's 64 MiB page cache, pread()) as well.
const IMAGE_MIB = Number(arg('image-mib', '8'));
if (!Number.isSafeInteger(IMAGE_MIB) || IMAGE_MIB < 1) throw new Error(`--image-mib must be a positive integer, got ${arg('image-mib', '')}`);
const IMAGE_BYTES = IMAGE_MIB * 1024 * 1024;

const dir = mkdtempSync(join(tmpdir(), 'xrp-bench-sim-'));
try {
  const run = (reads: number) =>
    runRawReads({
      imagePath: join(dir, 'bench.img'),
      imageBytes: IMAGE_BYTES,
      profile: 'optane-p5800x',
      cores: CORES,
      threads: THREADS,
      seed: 1,
      readsPerThread: Math.ceil(reads / THREADS),
      upperLayerNs: UPPER_LAYERS_NS,
    });
  run(60_000); // warm up the JIT
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const r = run(commands);
  const wallNs = Number(process.hrtime.bigint() - t0);
  const cpu = process.cpuUsage(cpu0);
  const cpuNs = (cpu.user + cpu.system) * 1000;
  const perSec = (r.commands * 1e9) / wallNs;
  console.log(`bench:sim  path=${path}  ${THREADS} threads x 512 B random reads on ${CORES} simulated cores, optane-p5800x, ${IMAGE_MIB} MiB image`);
  console.log(`  NVMe commands        ${r.commands}`);
  console.log(`  wall time            ${(wallNs / 1e6).toFixed(0)} ms  (process CPU time ${(cpuNs / 1e6).toFixed(0)} ms)`);
  console.log(`  simulated time       ${(r.simNs / 1e6).toFixed(1)} ms  (${(r.iops / 1e6).toFixed(3)} M IOPS simulated)`);
  console.log(`  read latency (sim)   mean ${r.latency.meanNs.toFixed(0)} ns  p50 ${r.latency.p50Ns}  p99 ${r.latency.p99Ns}  p99.9 ${r.latency.p999Ns}  max ${r.latency.maxNs}`);
  console.log(`  events               ${r.events}  (${(r.events / r.commands).toFixed(2)} per command)`);
  console.log(`  per CPU second       ${Math.round((r.commands * 1e9) / cpuNs).toLocaleString('en-US')} (what an unshared core would give)`);
  console.log(`  SIMULATED NVMe COMMANDS PER WALL SECOND: ${Math.round(perSec).toLocaleString('en-US')}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
