// Loading a program for execution: verify it, then compile it with the JIT.
// Programs run on the JIT by default once verified; `engine: 'interp'` picks the
// reference interpreter instead (for tracing, or to cross-check the JIT).
// Since the verifier has proven every access in bounds, the JIT is built without
// run-time region checks (a stray access would still fault, never corrupt JS).

import type { Engine } from './engine.ts';
import { createInterpreter, type InterpreterOptions } from './interp/interp.ts';
import type { Program } from './isa.ts';
import { compileJit } from './jit/index.ts';
import { verify, type VerifierResult, type VerifyOptions } from './verifier/verifier.ts';

export type EngineName = 'jit' | 'interp';

export interface LoadOptions extends VerifyOptions {
  /** the engine to run on (default 'jit') */
  engine?: EngineName;
  /**
   * The program as the verifier must see it, with its map and global-data loads
   * still symbolic (LinkedProgram.source); default: the program itself.
   */
  source?: Program;
  /** options of the interpreter, when engine is 'interp' (e.g. a trace sink) */
  interpreter?: InterpreterOptions;
}

export interface LoadedProgram {
  readonly engine: Engine;
  readonly engineName: EngineName;
  readonly verification: Extract<VerifierResult, { ok: true }>;
}

/** Verify `program` and prepare it to run; throws the VerifierError of a rejected program. */
export function loadProgram(program: Program, options: LoadOptions): LoadedProgram {
  const verification = verify(options.source ?? program, options);
  if (!verification.ok) throw verification.error;
  const engineName = options.engine ?? 'jit';
  const engine = engineName === 'jit' ? compileJit(program) : createInterpreter(program, options.interpreter ?? {});
  return { engine, engineName, verification };
}
