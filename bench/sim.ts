// Simulator speed: 6 threads doing 512-byte random reads on 6 simulated cores
// (optane-p5800x), printing simulated NVMe commands per second of wall time.
//
//   npm run bench:sim [-- --commands N] [--threads N] [--image-mib N] [--path read|raw]
//
// Path "read" (default): each thread opens a file with O_DIRECT and issues
// pread()s of random 512-byte-aligned offsets through the whole emulated stack
// (syscall, file system, block layer, NVMe driver, device, interrupt, wake-up).
// Path "raw": threads go straight to the kernel NVMe driver and the layers above
// it are charged as CPU time with Table 1's costs (no file system).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRawReads } from './harness/raw-nvme.ts';
import { prepareReadPath } from './harness/read-path.ts';
import { benchArgs } from './args.ts';

const cl = benchArgs({
  script: 'bench/sim.ts',
  usage: 'Usage: npm run bench:sim [-- --commands N] [--threads N] [--image-mib N] [--path read|raw]\n' +
    '  --commands N   simulated NVMe commands to time, 1..1e9 (default 3000000)\n' +
    '  --threads N    application threads on 6 simulated cores, 1..1024 (default 6)\n' +
    '  --image-mib N  size of the image read at random, MiB (default 8)\n' +
    '  --path P       read (the whole emulated stack, default) or raw (straight to the NVMe driver)',
  options: {
    commands: { type: 'string', default: '3000000' },
    threads: { type: 'string', default: '6' },
    'image-mib': { type: 'string', default: '8' },
    path: { type: 'string', default: 'read' },
  },
});

const COMMANDS = cl.positiveInt('--commands', cl.values.commands, 1e9);
const THREADS = cl.positiveInt('--threads', cl.values.threads, 1024);
// Reads are random over the whole file, so a larger image also measures the host's memory
// (and, beyond the image store's 64 MiB page cache, its pread() syscalls).
const IMAGE_MIB = cl.positiveInt('--image-mib', cl.values['image-mib'], 1 << 20);
const PATH = cl.values.path;
if (PATH !== 'raw' && PATH !== 'read') cl.fail(`--path must be read or raw, got '${PATH}'`);
const CORES = 6;
const WARMUP_READS = 60_000;
// Table 1: kernel crossing 351 + read syscall 199 + ext4 2006 + bio 379 ns above the driver.
const UPPER_LAYERS_NS = 351 + 199 + 2006 + 379;
const fileBytes = IMAGE_MIB * 1024 * 1024;

const dir = mkdtempSync(join(tmpdir(), 'xrp-bench-sim-'));
try {
  const readPath = PATH === 'read' ? prepareReadPath({ dir, fileBytes, profile: 'optane-p5800x', cores: CORES, threads: THREADS, seed: 1 }) : null;
  const run = (reads: number) => {
    const perThread = Math.ceil(reads / THREADS);
    if (readPath !== null) return readPath(perThread);
    return runRawReads({ imagePath: join(dir, 'raw.img'), imageBytes: fileBytes, profile: 'optane-p5800x', cores: CORES, threads: THREADS, seed: 1, readsPerThread: perThread, upperLayerNs: UPPER_LAYERS_NS });
  };
  run(WARMUP_READS); // warm up the JIT
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const r = run(COMMANDS);
  const wallNs = Number(process.hrtime.bigint() - t0);
  const cpu = process.cpuUsage(cpu0);
  const cpuNs = (cpu.user + cpu.system) * 1000;
  console.log(`bench:sim  path=${PATH}  ${THREADS} threads x 512 B random reads on ${CORES} simulated cores, optane-p5800x, ${IMAGE_MIB} MiB file`);
  console.log(`  NVMe commands        ${r.commands}`);
  console.log(`  wall time            ${(wallNs / 1e6).toFixed(0)} ms  (process CPU time ${(cpuNs / 1e6).toFixed(0)} ms)`);
  console.log(`  simulated time       ${(r.simNs / 1e6).toFixed(1)} ms  (${(r.iops / 1e6).toFixed(3)} M IOPS simulated)`);
  console.log(`  read latency (sim)   mean ${r.latency.meanNs.toFixed(0)} ns  p50 ${r.latency.p50Ns}  p99 ${r.latency.p99Ns}  p99.9 ${r.latency.p999Ns}  max ${r.latency.maxNs}`);
  console.log(`  events               ${r.events}  (${(r.events / r.commands).toFixed(2)} per command)`);
  console.log(`  per CPU second       ${Math.round((r.commands * 1e9) / cpuNs).toLocaleString('en-US')} (what an unshared core would give)`);
  console.log(`  SIMULATED NVMe COMMANDS PER WALL SECOND: ${Math.round((r.commands * 1e9) / wallNs).toLocaleString('en-US')}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
