// The JIT on the bpf_conformance corpus: `xrp conformance DIR --engine jit` (checked
// mode, as registered) passes all 313 tests, and so does the unchecked mode used
// for verified programs; on every test the JIT's outcome equals the interpreter's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readConformanceFile } from '../../../src/bpf/conformance/file.ts';
import { conformanceHelpers, programOf, runConformanceDir, runConformanceTest } from '../../../src/bpf/conformance/conformance.ts';
import { createExecEnv, ExecutionFault, type Engine } from '../../../src/bpf/engine.ts';
import { createInterpreter } from '../../../src/bpf/interp/interp.ts';
import { compileJit } from '../../../src/bpf/jit/index.ts';
import { AddressSpace } from '../../../src/bpf/memory.ts';
import type { ConformanceTest } from '../../../src/bpf/conformance/file.ts';
import { CORPUS } from '../../helpers/corpus.ts';

const skip = existsSync(CORPUS) ? false : `no corpus at ${CORPUS}`;

test('xrp conformance --engine jit: all 313 tests pass', { skip }, () => {
  const summary = runConformanceDir(CORPUS, 'jit');
  assert.deepEqual(summary.results.filter((r) => !r.passed).map((r) => `${r.name}: ${r.detail}`), []);
  assert.equal(summary.passed, 313);
});

test('the unchecked JIT (for verified programs) passes all 313 tests too', { skip }, () => {
  const files = readdirSync(CORPUS).filter((f) => f.endsWith('.data')).sort();
  assert.equal(files.length, 313);
  const failures: string[] = [];
  for (const file of files) {
    const r = runConformanceTest(readConformanceFile(join(CORPUS, file)), (p) => compileJit(p));
    if (!r.passed) failures.push(`${r.name}: ${r.detail}`);
  }
  assert.deepEqual(failures, []);
});

type Outcome = { r0: bigint; insns: number; mem: string } | { fault: string; pc: number } | { error: string };

function outcome(t: ConformanceTest, engine: Engine): Outcome {
  const memory = new AddressSpace(1 << 20);
  const env = createExecEnv(memory, conformanceHelpers);
  const mem = memory.mapBytes('mem', t.mem);
  try {
    const r = engine.run(env, [t.mem.length > 0 ? BigInt(mem.base) : 0n, BigInt(t.mem.length)]);
    return { r0: r.r0, insns: r.insnsExecuted, mem: Buffer.from(memory.bytes(mem)).toString('hex') };
  } catch (error) {
    if (error instanceof ExecutionFault) return { fault: error.kind, pc: error.pc };
    return { error: String(error) };
  }
}

test('checked JIT and interpreter: same r0, instruction count, memory, or same fault and pc, on every test', { skip }, () => {
  let compared = 0;
  for (const file of readdirSync(CORPUS).sort()) {
    const t = readConformanceFile(join(CORPUS, file));
    let program;
    try {
      program = programOf(t);
    } catch {
      continue; // an assembler error test: no program to run
    }
    const a = outcome(t, createInterpreter(program));
    const b = outcome(t, compileJit(program, { checked: true }));
    assert.deepEqual(b, a, `${file}`);
    compared++;
  }
  assert.ok(compared > 290, `only ${compared} tests compared`);
});
