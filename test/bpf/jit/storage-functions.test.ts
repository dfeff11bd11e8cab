// Every shipped storage function (the `xrp` programs of bpf/**/*.bpf.o) must pass
// loadProgram (verifier, then JIT), then runs on the interpreter and on the JIT
// (unchecked, as for verified programs, and checked) over real BPF-KV files and
// random blocks, driven like the NVMe hook does: run, read ctx.next_addr[0], put
// that block in the data page, run again until done. After every step the engines must agree on r0, the
// instruction count and every byte of the address space. Also: loadProgram.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadElf, type BpfObject } from '../../../src/bpf/elf/elf.ts';
import { createExecEnv, ExecutionFault, type Engine, type ExecEnv } from '../../../src/bpf/engine.ts';
import { GenRng } from '../../../src/testing/program-gen.ts';
import { createInterpreter } from '../../../src/bpf/interp/interp.ts';
import { compileJit, JitProgram } from '../../../src/bpf/jit/index.ts';
import { linkProgram } from '../../../src/bpf/elf/link.ts';
import { loadProgram } from '../../../src/bpf/load.ts';
import { AddressSpace, type Region } from '../../../src/bpf/memory.ts';
import { createStdHelpers } from '../../../src/bpf/std-helpers.ts';
import { VerifierError } from '../../../src/bpf/verifier/log.ts';
import { buildKvBytes } from '../../../src/kv/builder.ts';
import { AggOp, writeRangeQuery, writeSgQuery } from '../../../src/kv/scratch.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const PAGE = 4096;
const CTX_BYTES = 280;
const STEPS_MAX = 64;

function objects(): Array<{ path: string; object: BpfObject }> {
  const found: Array<{ path: string; object: BpfObject }> = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.bpf.o')) found.push({ path: path.slice(root.length), object: loadElf(readFileSync(path), name) });
    }
  };
  walk(join(root, 'bpf'));
  return found;
}

interface Machine {
  engine: Engine;
  memory: AddressSpace;
  env: ExecEnv;
  ctx: Region;
  data: Region;
  scratch: Region;
}

function machine(object: BpfObject, name: string, make: (linked: ReturnType<typeof linkProgram>) => Engine): Machine {
  const memory = new AddressSpace(1 << 20);
  const linked = linkProgram(object, name, memory);
  const helpers = createStdHelpers({ maps: linked.maps, seed: 7 }).table;
  const env = createExecEnv(memory, helpers, 1_000_000);
  const ctx = memory.map('ctx', CTX_BYTES);
  const data = memory.map('data', PAGE);
  const scratch = memory.map('scratch', PAGE);
  memory.view.setBigUint64(ctx.base + 264, BigInt(data.base), true);
  memory.view.setBigUint64(ctx.base + 272, BigInt(scratch.base), true);
  return { engine: make(linked), memory, env, ctx, data, scratch };
}

type Step = { r0: bigint; insns: number } | { fault: string; pc: number };

function step(m: Machine): Step {
  try {
    const r = m.engine.run(m.env, [BigInt(m.ctx.base)]);
    return { r0: r.r0, insns: r.insnsExecuted };
  } catch (error) {
    if (error instanceof ExecutionFault) return { fault: error.kind, pc: error.pc };
    throw error;
  }
}

/** Drive all machines in lockstep through one chain; returns the number of steps. */
function chain(machines: Machine[], file: Uint8Array, firstBlock: Uint8Array, where: string): number {
  for (const m of machines) m.memory.u8.set(firstBlock, m.data.base);
  for (let s = 0; s < STEPS_MAX; s++) {
    const results = machines.map(step);
    for (let i = 1; i < machines.length; i++) {
      assert.deepEqual(results[i], results[0], `${where}, step ${s}: engine ${i} differs`);
      assert.ok(Buffer.from(machines[i]!.memory.u8).equals(Buffer.from(machines[0]!.memory.u8)), `${where}, step ${s}: memory differs (engine ${i})`);
    }
    const r = results[0]!;
    const m0 = machines[0]!;
    const done = m0.memory.view.getInt32(m0.ctx.base, true);
    if (!('r0' in r) || r.r0 !== 0n || done !== 0) return s + 1;
    const next = Number(BigInt.asUintN(52, m0.memory.view.getBigUint64(m0.ctx.base + 8, true)));
    const size = Math.min(PAGE, Number(BigInt.asUintN(13, m0.memory.view.getBigUint64(m0.ctx.base + 136, true))) || 512);
    const block = new Uint8Array(PAGE);
    if (next < file.length) block.set(file.subarray(next, Math.min(file.length, next + size)));
    for (const m of machines) m.memory.u8.set(block, m.data.base);
  }
  return STEPS_MAX;
}

test('every shipped storage function: JIT = interpreter, step by step, on BPF-KV files and random blocks', async () => {
  const file = await buildKvBytes({ layers: 2 });
  const maxKey = 31 ** 2;
  const programs = objects().flatMap(({ path, object }) =>
    object.programs.filter((p) => p.sectionName === 'xrp').map((p) => ({ path, object, name: p.name })),
  );
  assert.ok(programs.length >= 4, `only ${programs.length} storage functions found`);
  let totalSteps = 0;
  for (const { path, object, name } of programs) {
    // The path of production: the verifier accepts it and it runs on the JIT (unchecked).
    const linked = linkProgram(object, name, new AddressSpace(1 << 20));
    const loaded = loadProgram(linked.program, { type: 'xrp', maps: linked.mapSpecs, source: linked.source });
    assert.ok(loaded.engine instanceof JitProgram, `${path} ${name}`);
    const rng = new GenRng(0x5eed);
    for (let run = 0; run < 40; run++) {
      const machines = [
        machine(object, name, (l) => createInterpreter(l.program)),
        machine(object, name, (l) => compileJit(l.program)),
        machine(object, name, (l) => compileJit(l.program, { checked: true })),
      ];
      const scratch = new Uint8Array(PAGE);
      let first: Uint8Array;
      if (run % 2 === 0) {
        // a real query on the real file, starting at the root block
        if (name === 'kv_range') {
          const begin = BigInt(rng.below(maxKey));
          writeRangeQuery(scratch, begin, begin + BigInt(rng.below(80)), rng.below(4), rng.pick(Object.values(AggOp)));
        } else {
          const keys = Array.from({ length: 1 + rng.below(32) }, () => BigInt(rng.below(maxKey + 10)));
          writeSgQuery(scratch, keys);
        }
        first = file.slice(0, PAGE);
      } else {
        // random bytes everywhere: the program's own checks must hold on both engines
        for (let i = 0; i < PAGE; i++) scratch[i] = rng.below(256);
        for (let i = 0; i < 64; i += 4) scratch[i] = rng.below(4);
        first = new Uint8Array(PAGE);
        for (let i = 0; i < PAGE; i++) first[i] = rng.below(256);
        for (let i = 0; i < 16; i += 8) first[i] = rng.below(2);
      }
      for (const m of machines) m.memory.u8.set(scratch, m.scratch.base);
      totalSteps += chain(machines, file, first, `${path} ${name} run ${run}`);
    }
  }
  assert.ok(totalSteps > programs.length * 40, `only ${totalSteps} steps`);
});

test('loadProgram verifies, then runs on the JIT by default or on the interpreter on request', () => {
  const object = loadElf(readFileSync(join(root, 'bpf/kv/get.bpf.o')), 'get.bpf.o');
  const memory = new AddressSpace(1 << 20);
  const linked = linkProgram(object, 'kv_get', memory);
  const onJit = loadProgram(linked.program, { type: 'xrp', maps: linked.mapSpecs, source: linked.source });
  assert.equal(onJit.engineName, 'jit');
  assert.ok(onJit.engine instanceof JitProgram);
  assert.ok(onJit.verification.stats.processedInsns > 0);
  const onInterp = loadProgram(linked.program, { type: 'xrp', maps: linked.mapSpecs, source: linked.source, engine: 'interp' });
  assert.equal(onInterp.engineName, 'interp');
  assert.ok(!(onInterp.engine instanceof JitProgram));
  // a program that reads an uninitialised register is rejected, not compiled
  assert.throws(
    () => loadProgram({ name: 'bad', insns: [{ code: 0xbf, dst: 0, src: 3, off: 0, imm: 0 }, { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }] }, { type: 'xrp' }),
    VerifierError,
  );
});
