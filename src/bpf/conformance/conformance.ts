// Runner of the bpf_conformance corpus (test/fixtures/bpf_conformance/tests):
// every `*.data` file is assembled (or decoded from `-- raw`), run by an engine
// with r1 = address of the test memory and r2 = its length, and its r0 (or its
// error) compared with the file's expectation.
//
// Helper 5 is uBPF's test `unwind` helper, which the corpus calls: it returns its
// argument, and when that is 0 the program stops at once with r0 = 0.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { assemble } from '../asm/asm.ts';
import { readConformanceFile, rawWordsToBytes, type ConformanceTest } from './file.ts';
import { createExecEnv, ExecutionFault, type Engine } from '../engine.ts';
import { XrpError } from '../../base/errors.ts';
import type { Helper, HelperTable } from '../helpers.ts';
import { createInterpreter } from '../interp/interp.ts';
import { compileJit } from '../jit/index.ts';
import { decode, type Program } from '../isa.ts';
import { AddressSpace } from '../memory.ts';

/** Engines by name: adding one (for example the JIT) is one line here. */
export const ENGINES: ReadonlyMap<string, (program: Program) => Engine> = new Map([
  ['interp', (program: Program): Engine => createInterpreter(program)],
  // The corpus is not verified, so the JIT checks every access against the regions.
  ['jit', (program: Program): Engine => compileJit(program, { checked: true })],
]);

export class UnknownEngineError extends XrpError {
  constructor(name: string) {
    super('UNKNOWN_ENGINE', `unknown engine "${name}" (known: ${[...ENGINES.keys()].join(', ')})`);
  }
}

export function engineFactory(name: string): (program: Program) => Engine {
  const factory = ENGINES.get(name);
  if (factory === undefined) throw new UnknownEngineError(name);
  return factory;
}

export const UNWIND_HELPER_ID = 5;

/** uBPF's `unwind` test helper: returns its argument; 0 stops the program with r0 = 0. */
export const unwindHelper: Helper = {
  id: UNWIND_HELPER_ID,
  name: 'unwind',
  fn: (r1) => {
    if (r1 === 0n) throw new ExecutionFault('UNWIND', -1, 'returned 0: the program stops with r0 = 0');
    return r1;
  },
};

export const conformanceHelpers: HelperTable = new Map([[UNWIND_HELPER_ID, unwindHelper]]);

export interface CaseResult {
  name: string;
  passed: boolean;
  /** what happened, for failures: expected vs found */
  detail: string;
}

/** The program of a test: assembled from `-- asm`, else decoded from `-- raw`. */
export function programOf(test: ConformanceTest): Program {
  if (test.asm !== undefined) {
    return { name: test.name, insns: assemble(test.asm, { fileName: test.fileName, firstLine: test.asmFirstLine ?? 1 }) };
  }
  return { name: test.name, insns: decode(rawWordsToBytes(test.raw ?? [])) };
}

/** Run one parsed test on an engine. Never throws for a failing test: it reports it. */
export function runConformanceTest(test: ConformanceTest, makeEngine: (program: Program) => Engine): CaseResult {
  const name = test.name;
  let outcome: { r0: bigint } | { error: string };
  try {
    const engine = makeEngine(programOf(test));
    const memory = new AddressSpace(1 << 20);
    const env = createExecEnv(memory, conformanceHelpers);
    const mem = memory.mapBytes('mem', test.mem);
    // Tests without memory still get a valid (empty) region address in r1.
    const args = [test.mem.length > 0 ? BigInt(mem.base) : 0n, BigInt(test.mem.length)];
    try {
      outcome = { r0: engine.run(env, args).r0 };
    } catch (error) {
      if (error instanceof ExecutionFault && error.kind === 'UNWIND') outcome = { r0: 0n };
      else throw error;
    }
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    outcome = { error: error.message };
  }
  if (test.error !== undefined) {
    if ('error' in outcome) return { name, passed: true, detail: `failed as expected: ${outcome.error}` };
    return { name, passed: false, detail: `expected error "${test.error}", got r0 = 0x${outcome.r0.toString(16)}` };
  }
  const expected = test.result ?? 0n;
  if ('error' in outcome) return { name, passed: false, detail: `expected r0 = 0x${expected.toString(16)}, got error: ${outcome.error}` };
  if (outcome.r0 !== expected) {
    return { name, passed: false, detail: `expected r0 = 0x${expected.toString(16)}, got 0x${outcome.r0.toString(16)}` };
  }
  return { name, passed: true, detail: `r0 = 0x${outcome.r0.toString(16)}` };
}

export interface ConformanceSummary {
  results: CaseResult[];
  passed: number;
  failed: number;
}

/** Run every `*.data` file of `dir` (sorted by name) on the named engine. */
export function runConformanceDir(dir: string, engineName = 'interp'): ConformanceSummary {
  const makeEngine = engineFactory(engineName);
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => f.endsWith('.data'))
      .sort();
  } catch (error) {
    throw new ConformanceDirError(dir, (error as Error).message);
  }
  if (files.length === 0) throw new ConformanceDirError(dir, 'no *.data files');
  const results = files.map((file) => {
    try {
      return runConformanceTest(readConformanceFile(join(dir, file)), makeEngine);
    } catch (error) {
      // an unparsable file is a failed test, named with its parse error
      if (error instanceof XrpError) return { name: file.replace(/\.data$/, ''), passed: false, detail: error.message };
      throw error;
    }
  });
  const passed = results.filter((r) => r.passed).length;
  return { results, passed, failed: results.length - passed };
}

export class ConformanceDirError extends XrpError {
  constructor(dir: string, reason: string) {
    super('CONFORMANCE_DIR', `conformance directory ${dir}: ${reason}`);
  }
}
