// What `xrp verify` does once its command line is parsed: read the object, load the
// ELF loader and the verifier (the code-cached bundle of verify-loader.ts), verify
// the selected programs and print the outcome. Two parsers lead here: commander's
// (commands/verify.ts, every form of the command line, help and usage errors) and
// the lean one of verify-fast.ts (the plain forms, without loading the rest of the
// CLI); both give it the same options, so the command behaves the same either way.

import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import type { BpfObject, ObjectProgram } from '../bpf/elf/elf.ts';
import type { ProgramType } from '../bpf/verifier/types.ts';
import { CommandError, UsageError } from './errors.ts';
import { loadVerifyPath } from './verify-loader.ts';

/** The program types `--type` takes, and the defaults of the options: one definition for both parsers. */
export const VERIFY_PROGRAM_TYPES: readonly ProgramType[] = ['xrp', 'mem', 'socket'];
export const VERIFY_PROGRAM_TYPE_DEFAULT: ProgramType = 'xrp';
export const VERIFY_MEM_SIZE_BYTES_DEFAULT = 4096;

export interface VerifyCliOptions {
  section?: string;
  type: ProgramType;
  memSize: number;
  turbofan?: boolean;
  insnBudget?: number;
  stateBudget?: number;
}

/** Verifies the programs of `file`; sets process.exitCode to 1 on a rejection, throws an XrpError (CommandError, UsageError) on bad input. */
export async function runVerify(file: string, options: VerifyCliOptions): Promise<void> {
  // This command lives for one verification, too short for V8's optimizing
  // compiler to pay off: its background threads took two thirds of the CPU
  // and, on 2 shared cores, starved the main thread (kv_range: 340 ms wall
  // with it, 135 ms without; 150,000 processed insns: 940 vs 760 ms). Set
  // before any verifier code has run, so nothing is optimized yet.
  if (options.turbofan !== true) setFlagsFromString('--no-opt');
  const type = options.type;
  const memSizeBytes = options.memSize;
  const insnLimit: number | undefined = options.insnBudget;
  const stateLimit: number | undefined = options.stateBudget;
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(file));
  } catch (error) {
    throw new CommandError(`cannot read ${file}: ${(error as Error).message}`);
  }
  // The ELF loader and the verifier come from the code-cached bundle of the
  // compiled package (verify-loader.ts), loaded after the flag above is set.
  const loaded = await loadVerifyPath();
  const { verify } = loaded.api;
  let object: BpfObject;
  try {
    object = loaded.api.loadElf(bytes, file);
  } catch (error) {
    // the bundle has its own copy of the error classes: carry the message over as ours
    if (error instanceof loaded.api.XrpError) throw new CommandError(error.message);
    throw error;
  }
  const selected: ObjectProgram[] = object.programs.filter(
    (p) => options.section === undefined || p.sectionName === options.section || p.name === options.section,
  );
  if (selected.length === 0) {
    const names = object.programs.map((p) => `${p.name} (section ${p.sectionName})`).join(', ');
    throw new UsageError(`${file}: no program in section "${options.section}"; programs: ${names || 'none'}`);
  }
  let rejected = 0;
  for (const p of selected) {
    const result = verify(p, { type, maps: object.maps, memSizeBytes, ...(insnLimit !== undefined ? { insnLimit } : {}), ...(stateLimit !== undefined ? { stateLimit } : {}) });
    const { processedInsns, states, timeMs } = result.stats;
    if (result.ok) {
      console.log(`${p.name} (section ${p.sectionName}, ${p.insns.length} insns): accepted; processed ${processedInsns} insns, ${states} states, ${timeMs.toFixed(1)} ms`);
    } else {
      rejected++;
      console.log(`${p.name} (section ${p.sectionName}, ${p.insns.length} insns): REJECTED after ${processedInsns} insns, ${timeMs.toFixed(1)} ms`);
      for (const line of result.log) console.log(`  ${line}`);
    }
  }
  // a missing or rejected cache (another Node, say) is written anew; not with
  // --turbofan, whose flags V8 would tie the cache to
  if (options.turbofan !== true) loaded.saveCodeCache();
  if (rejected > 0) process.exitCode = 1;
}
