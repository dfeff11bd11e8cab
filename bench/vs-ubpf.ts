// Our interpreter and JIT against uBPF's interpreter and x86-64 JIT, side by side
// on this machine: the same bytecode and the same memory go to both, runs are
// interleaved (ours, uBPF, ours, ...), and every figure is min / median of the
// repeats, in ns per executed instruction (the count comes from our engine; uBPF
// keeps none, and the r0 of both must agree). Workloads:
//   ALU loop           10 million iterations of multiply, add, subtract, jump
//   ALU + stack loop   the same with a stack store and load
//   branchy x1000      a 1,000-instruction program of 500 basic blocks, run
//                      1,000 times per round, as a storage function runs per
//                      block (so every run pays the cost of entering the code)
//   entry              `mov r0, 0; exit` run 200,000 times: what entering and
//                      leaving the engine costs, in ns per run
// The synthetic programs read their first value from memory (see SEED_OFFSET).
//   storage functions  every shipped `xrp` program of bpf/**/*.bpf.o without
//                      maps, driven through a real query over a real BPF-KV
//                      file (one run = one query: reset the scratch page, then
//                      one invocation per block read, ctx->data at that block)
//   JIT compile time   ms per 1,000 instructions over 20 generated programs
//                      (ours: translation + WebAssembly.Module; uBPF: ubpf_load
//                      + ubpf_compile)
// uBPF is built from a local checkout: --ubpf <dir> or UBPF_DIR=<dir> (its vm
// library with cmake, then bench/ubpf-driver.c against it). Without one, only
// our figures are printed and the reason is said.
// Each workload's rows are measured in a fresh Node process of their own (this
// script again, with --workload), as uBPF's driver runs one program per process:
// a process that has run several programs pays more per run (V8's call into
// wasm sees several targets and stops being inlined; see docs/jit.md).
// --shared-process measures every workload in this one process instead.
// Run: npm run bench:vs-ubpf -- --ubpf /tmp/ubpf [--repeats 5] [--only interp|jit|compile] [--synthetic] [--clock cpu|wall] [--shared-process]
// (--synthetic: the three loops only, without the storage functions)

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadElf } from '../src/bpf/elf/elf.ts';
import { createExecEnv, type Engine, type ExecEnv } from '../src/bpf/engine.ts';
import { generateProgram } from '../src/testing/program-gen.ts';
import { createInterpreter } from '../src/bpf/interp/interp.ts';
import { compileJit, compileModule } from '../src/bpf/jit/index.ts';
import { assembleModule, ByteWriter, I32, Op } from '../src/bpf/jit/wasm-writer.ts';
import { AluOp, encode, InsnClass, JmpOp, Mode, Size, Source, insn, type Insn, type Program } from '../src/bpf/isa.ts';
import { linkProgram } from '../src/bpf/elf/link.ts';
import { AddressSpace } from '../src/bpf/memory.ts';
import { buildKvBytes } from '../src/kv/builder.ts';
import { AggOp, writeRangeQuery, writeSgQuery } from '../src/kv/scratch.ts';
import { benchArgs } from './args.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const PAGE = 4096;
const CTX_DATA = 264;
const CTX_SCRATCH = 272;
const ITERATIONS = 10_000_000;
const ALU64_K = InsnClass.ALU64 | Source.K;
/**
 * Warm-up of our engines before the first timed round: V8 tiers hot wasm (the
 * JIT's code) and hot JS (the interpreter's loop, a large function) up to
 * TurboFan in a background thread, which a loaded machine starves. In a fresh
 * process the interpreter's first rounds run unoptimised for hundreds of ms.
 */
const JIT_WARMUP_MS = 1500;
/** warm-up ends only after this long without a new best round (as well as three rounds) */
const SETTLE_MS = 400;
const WARMUP_MAX_MS = 8000;

const cl = benchArgs({
  script: 'bench/vs-ubpf.ts',
  usage: 'Usage: npm run bench:vs-ubpf -- --ubpf /tmp/ubpf [--repeats 5] [--only interp|jit|compile] [--synthetic] [--clock cpu|wall] [--shared-process]\n' +
    '  --ubpf DIR          a uBPF checkout to build and measure (or UBPF_DIR=DIR); without one, our figures only\n' +
    '  --repeats N         interleaved repeats; figures are min / median (default 5)\n' +
    '  --only MODE         interp, jit or compile only\n' +
    '  --synthetic         the three loops only, without the storage functions\n' +
    '  --clock C           cpu (CPU time of the measuring process, default) or wall\n' +
    '  --shared-process    measure every workload in this one process (default: a fresh process per workload)',
  options: {
    ubpf: { type: 'string' },
    repeats: { type: 'string', default: '5' },
    only: { type: 'string' },
    synthetic: { type: 'boolean', default: false },
    clock: { type: 'string', default: 'cpu' },
    'shared-process': { type: 'boolean', default: false },
    /** internal: measure this workload only and print its rows (the child process of one workload) */
    workload: { type: 'string' },
  },
});
const opts = cl.values;
const CHILD = opts.workload !== undefined;
const REPEATS = cl.positiveInt('--repeats', opts.repeats);
if (opts.clock !== 'cpu' && opts.clock !== 'wall') cl.fail(`--clock must be cpu or wall, got '${opts.clock}'`);
if (opts.only !== undefined && !['interp', 'jit', 'compile'].includes(opts.only)) cl.fail(`--only must be interp, jit or compile, got '${opts.only}'`);
/**
 * cpu (default): the CPU time of the measuring process on both sides
 * (process.cpuUsage, CLOCK_PROCESS_CPUTIME_ID), so time lost to other processes
 * on a shared machine is not counted; wall: elapsed time.
 */
const CPU_CLOCK = opts.clock === 'cpu';
const nowNs = (): number => {
  if (!CPU_CLOCK) return Number(process.hrtime.bigint());
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};

// ---------------------------------------------------------------- workloads

/**
 * The synthetic programs load their first value from memory (r1 + SEED_OFFSET)
 * instead of setting it with a constant: a program whose result is known at
 * compile time is folded to that constant by V8's optimising compiler, and
 * would then measure nothing of the engine.
 */
const SEED_OFFSET = 1024;
const loadSeed = (): Insn => insn(InsnClass.LDX | Mode.MEM | Size.DW, 0, 1, SEED_OFFSET, 0); // r0 = *(u64 *)(r1 + SEED_OFFSET)

function loop(withStack: boolean): Insn[] {
  const body: Insn[] = [insn(ALU64_K | AluOp.MUL, 0, 0, 0, 3), insn(ALU64_K | AluOp.ADD, 0, 0, 0, 1)];
  if (withStack) {
    body.push(insn(InsnClass.STX | Mode.MEM | Size.DW, 10, 0, -8, 0)); // *(u64 *)(r10 - 8) = r0
    body.push(insn(InsnClass.LDX | Mode.MEM | Size.DW, 0, 10, -8, 0)); // r0 = *(u64 *)(r10 - 8)
  }
  body.push(insn(ALU64_K | AluOp.SUB, 1, 0, 0, 1));
  body.push(insn(InsnClass.JMP | Source.K | JmpOp.JNE, 1, 0, -(body.length + 1), 0));
  // r0 = 1 (the seed), r1 = the iteration count
  return [loadSeed(), insn(ALU64_K | AluOp.MOV, 1, 0, 0, ITERATIONS), ...body, insn(InsnClass.JMP | JmpOp.EXIT)];
}

/** 499 blocks of `r0 += k` (the first: `r0 = seed`, 0); if r0 == MAGIC goto out` (never taken), then `out: r0 &= 0xffff; exit`. */
function branchy(): Insn[] {
  const insns: Insn[] = [];
  const blockCount = 499;
  for (let i = 0; i < blockCount; i++) {
    // the first block sets r0 (uBPF does not zero it before a run); k of block 0 is 0, the seed
    insns.push(i === 0 ? loadSeed() : insn(ALU64_K | AluOp.ADD, 0, 0, 0, (i * 7919) & 0xffff));
    insns.push(insn(InsnClass.JMP | Source.K | JmpOp.JEQ, 0, 0, (blockCount - 1 - i) * 2, 0x7fffffff));
  }
  insns.push(insn(ALU64_K | AluOp.AND, 0, 0, 0, 0xffff));
  insns.push(insn(InsnClass.JMP | JmpOp.EXIT));
  return insns;
}

/**
 * One workload: a program and the memory it runs over. `image` is one page for
 * the synthetic programs (r1 points at it; the seed is at SEED_OFFSET); for a
 * storage function it is [ctx page | scratch page | blocks], and `steps` the byte
 * offsets in it of the blocks of one query, in order.
 */
interface Workload {
  name: string;
  program: Program;
  image: Uint8Array;
  steps: number[];
  /** runs per timed round, per engine */
  runs: { interp: number; jit: number };
  /** the figure: ns per executed instruction, or ns per run (the entry workload) */
  per: 'insn' | 'run';
}

function synthetic(name: string, insns: Insn[], seed: number, runs: { interp: number; jit: number }, per: 'insn' | 'run' = 'insn'): Workload {
  const image = new Uint8Array(PAGE);
  new DataView(image.buffer).setBigUint64(SEED_OFFSET, BigInt(seed), true);
  return { name, program: { name, insns }, image, steps: [0], runs, per };
}

/**
 * Our side of a workload: the engine and its address space laid out like the
 * image. `runs(n)` does n runs and returns the instructions executed and the last
 * r0; the loop is inside, so the harness adds no call or object per run. Each run
 * is the engine's CtxRunner.run(r1) and a read of its r0, what the XRP drivers
 * (xrpStep) call once per block, as uBPF's driver calls its compiled function.
 */
interface Machine {
  runs(n: number): { insns: number; r0: bigint };
}

function machine(w: Workload, engine: Engine): Machine {
  const memory = new AddressSpace(Math.max(1 << 16, w.image.length + (1 << 16)));
  const env: ExecEnv = createExecEnv(memory, new Map(), 2 ** 30);
  const region = memory.map('image', w.image.length, { writable: true });
  memory.u8.set(w.image, region.base);
  const runner = engine.ctxRunner(env);
  if (w.image.length < 2 * PAGE) {
    const r1 = region.base;
    return {
      runs(n) {
        let insns = 0;
        let r0 = 0n;
        for (let i = 0; i < n; i++) {
          insns += runner.run(r1);
          r0 = runner.r0;
        }
        return { insns, r0 };
      },
    };
  }
  const scratchBase = region.base + PAGE;
  memory.view.setBigUint64(region.base + CTX_SCRATCH, BigInt(scratchBase), true);
  const scratch = w.image.subarray(PAGE, 2 * PAGE);
  const dataAddrs = w.steps.map((off) => region.base + off);
  const view = memory.view;
  const u8 = memory.u8;
  const ctx = region.base;
  return {
    runs(n) {
      let insns = 0;
      let r0 = 0n;
      for (let i = 0; i < n; i++) {
        u8.set(scratch, scratchBase); // the query's scratch page
        view.setInt32(ctx, 0, true); // ctx->done = 0
        for (const addr of dataAddrs) {
          // ctx->data = this step's block (an address below 2^32: the high word is 0)
          view.setUint32(ctx + CTX_DATA, addr, true);
          view.setUint32(ctx + CTX_DATA + 4, 0, true);
          insns += runner.run(ctx);
          r0 = runner.r0;
        }
      }
      return { insns, r0 };
    },
  };
}

/** The shipped storage functions (without maps: uBPF has none), each over one real query. */
async function storageWorkloads(): Promise<{ workloads: Workload[]; skipped: string[] }> {
  const file = await buildKvBytes({ layers: 3 });
  const maxKey = 31 ** 3;
  const workloads: Workload[] = [];
  const skipped: string[] = [];
  const walk = (dir: string): string[] =>
    readdirSync(dir)
      .sort()
      .flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : n.endsWith('.bpf.o') ? [join(dir, n)] : []));
  for (const path of walk(join(root, 'bpf'))) {
    const object = loadElf(readFileSync(path), path);
    for (const p of object.programs.filter((q) => q.sectionName === 'xrp')) {
      const rel = path.slice(root.length);
      if (object.maps.length > 0) {
        skipped.push(`${rel} ${p.name}: uses BPF maps, which uBPF does not have`);
        continue;
      }
      const program = linkProgram(object, p.name, new AddressSpace(1 << 16)).program;
      const scratch = new Uint8Array(PAGE);
      if (p.name === 'kv_range') writeRangeQuery(scratch, 1000n, 1400n, 0, AggOp.SUM);
      else writeSgQuery(scratch, [7n, 4242n, 9999n, BigInt(maxKey - 3), 123n, 20000n, 31n, 15000n]);
      const recorded = recordChain(program, file, scratch);
      const image = new Uint8Array(PAGE * (2 + recorded.length));
      image.set(scratch, PAGE);
      new DataView(image.buffer).setBigUint64(CTX_SCRATCH, BigInt(PAGE), true);
      recorded.forEach((block, i) => image.set(block, PAGE * (2 + i)));
      workloads.push({
        name: `${p.name} (${recorded.length} blocks)`,
        program,
        image,
        steps: recorded.map((_, i) => PAGE * (2 + i)),
        runs: { interp: 200, jit: 2000 },
        per: 'insn',
      });
    }
  }
  return { workloads, skipped };
}

/** Runs one query on our interpreter as the NVMe hook does, returning the blocks it reads in order. */
function recordChain(program: Program, file: Uint8Array, scratch: Uint8Array): Uint8Array[] {
  const memory = new AddressSpace(1 << 16);
  const env = createExecEnv(memory, new Map(), 1_000_000);
  const ctx = memory.map('ctx', PAGE, { writable: true });
  const data = memory.map('data', PAGE, { writable: true });
  const sc = memory.map('scratch', PAGE, { writable: true });
  memory.u8.set(scratch, sc.base);
  memory.view.setBigUint64(ctx.base + CTX_DATA, BigInt(data.base), true);
  memory.view.setBigUint64(ctx.base + CTX_SCRATCH, BigInt(sc.base), true);
  const engine = createInterpreter(program);
  const blocks: Uint8Array[] = [];
  let block = file.slice(0, PAGE);
  for (let s = 0; s < 64; s++) {
    blocks.push(block);
    memory.u8.set(block, data.base);
    const r = engine.run(env, [BigInt(ctx.base)]);
    if (r.r0 !== 0n || memory.view.getInt32(ctx.base, true) !== 0) break;
    const next = Number(BigInt.asUintN(52, memory.view.getBigUint64(ctx.base + 8, true)));
    const size = Math.min(PAGE, Number(BigInt.asUintN(13, memory.view.getBigUint64(ctx.base + 136, true))) || 512);
    block = new Uint8Array(PAGE);
    if (next < file.length) block.set(file.subarray(next, Math.min(file.length, next + size)));
  }
  return blocks;
}

// ---------------------------------------------------------------- uBPF

interface Ubpf {
  driver: string;
  dir: string;
  commit: string;
}

/** The driver built by the parent process, for the child processes of single workloads. */
const DRIVER_ENV = 'XRP_VS_UBPF_DRIVER';

function setUpUbpf(): Ubpf | string {
  const built = process.env[DRIVER_ENV];
  if (CHILD && built !== undefined) {
    const [driver = '', dir = '', commit = ''] = built.split('\n');
    return { driver, dir, commit };
  }
  if (CHILD) return 'no uBPF driver from the parent process';
  const dir = opts.ubpf ?? process.env['UBPF_DIR'];
  if (dir === undefined || dir === '') return 'no uBPF checkout given (--ubpf <dir> or UBPF_DIR=<dir>)';
  const src = resolve(dir);
  if (!existsSync(join(src, 'vm', 'inc', 'ubpf.h'))) return `${src} is not a uBPF checkout (no vm/inc/ubpf.h)`;
  const build = join(src, 'build');
  const lib = join(build, 'lib', 'libubpf.a');
  try {
    if (!existsSync(lib)) {
      console.log(`building uBPF's vm library in ${build} (cmake) ...`);
      // The conformance and verifier submodules are not needed for the vm library.
      execFileSync('cmake', ['-S', src, '-B', build, '-DCMAKE_BUILD_TYPE=Release', '-DUBPF_SKIP_EXTERNAL=ON'], { stdio: 'pipe' });
      execFileSync('make', ['-C', build, 'ubpf', '-j2'], { stdio: 'pipe' });
    }
    const out = mkdtempSync(join(tmpdir(), 'ubpf-driver-'));
    const driver = join(out, 'ubpf-driver');
    execFileSync('cc', ['-O2', '-I', join(src, 'vm', 'inc'), '-I', join(build, 'vm'), join(root, 'bench', 'ubpf-driver.c'), lib, '-lm', '-o', driver], {
      stdio: 'pipe',
    });
    let commit = 'unknown commit';
    try {
      commit = execFileSync('git', ['-C', src, 'rev-parse', '--short', 'HEAD'], { stdio: 'pipe' }).toString().trim();
    } catch {
      // an exported tree (git archive) has no history
    }
    return { driver, dir: src, commit };
  } catch (error) {
    const e = error as { stderr?: Buffer; message: string };
    return `building uBPF failed: ${(e.stderr?.toString() ?? e.message).split('\n').slice(-6).join(' | ')}`;
  }
}

class UbpfRunner {
  private readonly dir: string;
  private readonly env = { ...process.env, UBPF_DRIVER_CLOCK: CPU_CLOCK ? 'cpu' : 'wall' };
  private readonly files = new Map<Workload, { code: string; image: string; steps: string }>();
  constructor(private readonly ubpf: Ubpf) {
    this.dir = mkdtempSync(join(tmpdir(), 'vs-ubpf-'));
  }
  private filesOf(w: Workload): { code: string; image: string; steps: string } {
    let f = this.files.get(w);
    if (f === undefined) {
      const i = this.files.size;
      f = { code: join(this.dir, `${i}.code`), image: join(this.dir, `${i}.image`), steps: join(this.dir, `${i}.steps`) };
      writeFileSync(f.code, encode(w.program.insns));
      writeFileSync(f.image, w.image);
      writeFileSync(f.steps, new Uint8Array(new Uint32Array(w.steps).buffer));
      this.files.set(w, f);
    }
    return f;
  }
  /** One timed round of `runs` runs: ns and the last r0. */
  run(w: Workload, mode: 'interp' | 'jit', runs: number): { ns: number; r0: bigint } {
    const f = this.filesOf(w);
    const out = spawnSync(this.ubpf.driver, ['run', mode, f.code, f.image, f.steps, String(runs), '1'], { encoding: 'utf8', env: this.env });
    if (out.status !== 0) throw new Error(`ubpf-driver ${mode} ${w.name}: ${out.stderr.trim() || `exit ${String(out.status)}`}`);
    const [ns, r0] = out.stdout.trim().split(/\s+/);
    return { ns: Number(ns), r0: BigInt(r0 ?? '0') };
  }
  compile(programs: Program[]): { ns: number; insns: number } {
    const parts: Uint8Array[] = [];
    for (const p of programs) {
      const count = new Uint8Array(new Uint32Array([p.insns.length]).buffer);
      parts.push(count, encode(p.insns));
    }
    const path = join(this.dir, 'compile.bin');
    writeFileSync(path, Buffer.concat(parts));
    const out = spawnSync(this.ubpf.driver, ['compile', path, '1'], { encoding: 'utf8', env: this.env });
    if (out.status !== 0) throw new Error(`ubpf-driver compile: ${out.stderr.trim()}`);
    const [ns, insns] = out.stdout.trim().split(/\s+/);
    return { ns: Number(ns), insns: Number(insns) };
  }
}

// ---------------------------------------------------------------- measuring

const min = (xs: number[]): number => Math.min(...xs);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
};

interface Row {
  name: string;
  ours: number[];
  theirs: number[];
}

function timeOurs(m: Machine, runs: number): { ns: number; insns: number; r0: bigint } {
  const start = nowNs();
  const { insns, r0 } = m.runs(runs);
  return { ns: nowNs() - start, insns, r0 };
}

function measure(w: Workload, mode: 'interp' | 'jit', ubpf: UbpfRunner | undefined): Row {
  const engine = mode === 'interp' ? createInterpreter(w.program) : compileJit(w.program);
  const m = machine(w, engine);
  const runs = w.runs[mode];
  // Warm-up: the interpreter's loop gets optimised; our JIT's wasm tiers up to
  // TurboFan in a background thread, which a loaded machine starves. So: at least
  // JIT_WARMUP_MS, then until three rounds and SETTLE_MS in a row bring no new
  // best (at most WARMUP_MAX_MS).
  const started = process.hrtime.bigint();
  const elapsedMs = (): number => Number(process.hrtime.bigint() - started) / 1e6;
  let best = Infinity;
  let sinceBest = 0;
  let bestAtMs = 0;
  for (;;) {
    const o = timeOurs(m, runs);
    const perInsn = o.ns / o.insns;
    if (perInsn < best * 0.98) {
      best = Math.min(best, perInsn);
      sinceBest = 0;
      bestAtMs = elapsedMs();
    } else sinceBest++;
    const settled = sinceBest >= 3 && elapsedMs() - bestAtMs >= SETTLE_MS;
    if ((elapsedMs() >= JIT_WARMUP_MS && settled) || elapsedMs() >= WARMUP_MAX_MS) break;
  }
  const row: Row = { name: `${mode === 'interp' ? 'interpreter' : 'JIT'}, ${w.name}`, ours: [], theirs: [] };
  // ns per executed instruction, or per run (each run is one step per block of the query)
  const per = (ns: number, insns: number): number => (w.per === 'run' ? ns / (runs * w.steps.length) : ns / insns);
  for (let r = 0; r < REPEATS; r++) {
    // One untimed round first, as uBPF's driver does in each of its processes:
    // the round after a uBPF process starts with cold caches and branch
    // predictors, and with V8's background threads (whose CPU time is this
    // process's) busy after the spawn.
    timeOurs(m, runs);
    const o = timeOurs(m, runs);
    row.ours.push(per(o.ns, o.insns));
    if (ubpf !== undefined) {
      const t = ubpf.run(w, mode, runs);
      if (t.r0 !== o.r0) throw new Error(`${row.name}: r0 differs (ours 0x${o.r0.toString(16)}, uBPF 0x${t.r0.toString(16)})`);
      row.theirs.push(per(t.ns, o.insns));
    }
  }
  return row;
}

/** Compile time: the whole (translation + WebAssembly.Module), and each part alone against uBPF's whole. */
function compileRows(ubpf: UbpfRunner | undefined): Row[] {
  const total: Row = { name: 'JIT compile, ms per 1,000 instructions', ours: [], theirs: [] };
  const translate: Row = { name: '… of which our translation (compileModule)', ours: [], theirs: [] };
  const v8: Row = { name: "… of which V8's WebAssembly.Module", ours: [], theirs: [] };
  let seed = 5000;
  const fresh = (): Program[] =>
    Array.from({ length: 20 }, () => {
      seed++;
      return { name: `gen-${seed}`, insns: generateProgram({ seed, bodyInsns: 1000 }).insns };
    });
  const ours = (programs: Program[]): { translateMs: number; moduleMs: number } => {
    let translateNs = 0;
    let moduleNs = 0;
    let insns = 0;
    for (const p of programs) {
      const start = nowNs();
      const bytes = compileModule(p).bytes;
      const translated = nowNs();
      new WebAssembly.Module(bytes);
      moduleNs += nowNs() - translated;
      translateNs += translated - start;
      insns += p.insns.length;
    }
    return { translateMs: translateNs / 1e6 / (insns / 1000), moduleMs: moduleNs / 1e6 / (insns / 1000) };
  };
  // Warm our compiler up as the run rows warm the engines: at least the minimum
  // time, then until three rounds in a row bring no new best (at most
  // WARMUP_MAX_MS). The figures are those of a warm compiler, as uBPF's (native
  // code) always is; a process's first compiles run the compiler's own JS cold.
  const started = process.hrtime.bigint();
  const elapsedMs = (): number => Number(process.hrtime.bigint() - started) / 1e6;
  let best = Infinity;
  let sinceBest = 0;
  for (;;) {
    const o = ours(fresh());
    const ms = o.translateMs + o.moduleMs;
    if (ms < best * 0.98) {
      best = ms;
      sinceBest = 0;
    } else sinceBest++;
    if ((elapsedMs() >= JIT_WARMUP_MS && sinceBest >= 3) || elapsedMs() >= WARMUP_MAX_MS) break;
  }
  for (let r = 0; r < REPEATS; r++) {
    // Fresh programs every round: V8 caches compiled modules by their bytes.
    const programs = fresh();
    const o = ours(programs);
    total.ours.push(o.translateMs + o.moduleMs);
    translate.ours.push(o.translateMs);
    v8.ours.push(o.moduleMs);
    if (ubpf !== undefined) {
      const t = ubpf.compile(programs);
      const ms = t.ns / 1e6 / (t.insns / 1000);
      total.theirs.push(ms);
      translate.theirs.push(ms);
      v8.theirs.push(ms);
    }
  }
  return [total, translate, v8];
}

/**
 * The WebAssembly boundary alone: JS calling an exported wasm function that does
 * nothing, with the JIT entry's signature (no parameters, an i32 result), ns per
 * call. No engine can enter wasm code for less.
 */
function boundaryNs(): number[] {
  const body = new ByteWriter();
  body.byte(Op.i32_const);
  body.s32(2);
  const { bytes } = assembleModule({
    types: [{ params: [I32], results: [I32] }],
    imports: [],
    memoryImport: { module: 'env', name: 'memory' },
    globals: [],
    funcs: [{ type: 0, locals: [], code: body.finish() }],
    exports: [{ name: 'run', kind: 'func', index: 0 }],
  });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory: new WebAssembly.Memory({ initial: 1 }) } });
  // Boundary with the untyped exports object.
  const run = instance.exports['run'] as unknown as (r1: number) => number;
  const calls = 1_000_000;
  const out: number[] = [];
  for (let round = -2; round < REPEATS; round++) {
    let sink = 0;
    const start = nowNs();
    for (let i = 0; i < calls; i++) sink += run(4096);
    const ns = (nowNs() - start) / calls;
    if (sink !== 2 * calls) throw new Error('boundary probe returned the wrong value');
    if (round >= 0) out.push(ns);
  }
  return out;
}

function fmt(x: number): string {
  return x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3);
}

function printRow(row: Row): void {
  const ours = `${fmt(min(row.ours))} / ${fmt(median(row.ours))}`;
  if (row.theirs.length === 0) {
    console.log(`| ${row.name} | ${ours} | — | — |`);
    return;
  }
  const theirs = `${fmt(min(row.theirs))} / ${fmt(median(row.theirs))}`;
  const ratio = `${(min(row.ours) / min(row.theirs)).toFixed(2)} / ${(median(row.ours) / median(row.theirs)).toFixed(2)}`;
  console.log(`| ${row.name} | ${ours} | ${theirs} | ${ratio} |`);
}

// ---------------------------------------------------------------- main

const setup = setUpUbpf();
const runner = typeof setup === 'string' ? undefined : new UbpfRunner(setup);

/** The rows of one workload in one mode, measured in this process. */
function rowsOf(w: Workload, mode: 'interp' | 'jit'): Row[] {
  const row = measure(w, mode, runner);
  if (mode !== 'jit' || w.per !== 'run') return [row];
  // The floor of the entry row: uBPF's entry again as the other column.
  return [row, { name: 'WebAssembly boundary alone (ns per call of an empty exported function, same signature)', ours: boundaryNs(), theirs: row.theirs }];
}

/** The rows of one workload measured in a fresh Node process (this script with --workload). */
function rowsInChild(w: Workload, mode: 'interp' | 'jit'): string[] {
  const args = [...process.execArgv, fileURLToPath(import.meta.url), '--workload', w.name, '--only', mode, '--repeats', String(REPEATS), '--clock', CPU_CLOCK ? 'cpu' : 'wall'];
  const env = { ...process.env };
  if (typeof setup !== 'string') env[DRIVER_ENV] = [setup.driver, setup.dir, setup.commit].join('\n');
  const out = spawnSync(process.execPath, args, { encoding: 'utf8', env });
  if (out.status !== 0) throw new Error(`child process for ${mode} ${w.name}: ${out.stderr.trim() || `exit ${String(out.status)}`}`);
  return out.stdout.split('\n').filter((line) => line.startsWith('|'));
}

const synthetics: Workload[] = [
  synthetic('ALU loop', loop(false), 1, { interp: 1, jit: 1 }),
  synthetic('ALU + stack loop', loop(true), 1, { interp: 1, jit: 1 }),
  synthetic('branchy x1000', branchy(), 0, { interp: 2000, jit: 100_000 }),
  // The cost of entering and leaving the engine, in isolation, in ns per run (2 instructions).
  synthetic('entry (ns per run): mov r0, 0; exit', [insn(ALU64_K | AluOp.MOV, 0, 0, 0, 0), insn(InsnClass.JMP | JmpOp.EXIT)], 0, { interp: 200_000, jit: 2_000_000 }, 'run'),
];

if (CHILD) {
  const mode = opts.only === 'interp' ? 'interp' : 'jit';
  let w = synthetics.find((x) => x.name === opts.workload);
  if (w === undefined) w = (await storageWorkloads()).workloads.find((x) => x.name === opts.workload);
  if (w === undefined) throw new Error(`no workload named "${String(opts.workload)}"`);
  for (const row of rowsOf(w, mode)) printRow(row);
  process.exit(0);
}

const uptime = (() => {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return `load average ${loadavg().map((x) => x.toFixed(2)).join(', ')}`;
  }
})();
const shared = opts['shared-process'] === true;
console.log(`# ours vs uBPF, ${new Date().toISOString()}`);
console.log(`machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores; node ${process.version}`);
console.log(`load at start: ${uptime}`);
if (typeof setup === 'string') console.log(`uBPF: skipped — ${setup}`);
else console.log(`uBPF: ${setup.dir} (${setup.commit}), bounds checks on in its interpreter as in ours`);
console.log(`${REPEATS} interleaved repeats; figures are min / median; ratio = ours / uBPF (below 1: we are faster)`);
console.log(`clock: ${CPU_CLOCK ? 'CPU time of the measuring process (both sides)' : 'wall time'}`);
console.log(
  shared
    ? 'all workloads in this one process (--shared-process)'
    : "each workload in a fresh process of its own, as uBPF's driver runs one program per process",
);
console.log('');

const { workloads: storage, skipped } = opts.synthetic ? { workloads: [], skipped: [] } : await storageWorkloads();
const workloads: Workload[] = [...synthetics, ...storage];
console.log('| workload (ns per executed instruction) | ours | uBPF | ratio |');
console.log('|---|---|---|---|');
for (const mode of ['interp', 'jit'] as const) {
  if (opts.only !== undefined && opts.only !== mode) continue;
  for (const w of workloads) {
    if (shared) for (const row of rowsOf(w, mode)) printRow(row);
    else for (const line of rowsInChild(w, mode)) console.log(line);
  }
}
if (opts.only === undefined || opts.only === 'compile') for (const row of compileRows(runner)) printRow(row);
for (const s of skipped) console.log(`(skipped for uBPF: ${s})`);
console.log('');
console.log(`load at end: ${execFileSync('uptime', { encoding: 'utf8' }).trim()}`);
