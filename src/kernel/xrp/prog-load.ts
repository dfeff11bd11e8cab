// bpf(BPF_PROG_LOAD) for storage functions: parse the object, link its maps
// into the process's address space, verify the program as type `xrp` and
// compile it with the JIT (src/bpf/load.ts loadProgram), and install it in the
// process's fd table. The program then runs in that address space: in the NVMe
// completion hook (kernel) and in the user-space fallback, with the same maps.

import { readFileSync } from 'node:fs';
import { loadElf } from '../../bpf/elf/elf.ts';
import { createExecEnv } from '../../bpf/engine.ts';
import { XrpError } from '../../base/errors.ts';
import { linkProgram } from '../../bpf/elf/link.ts';
import { loadProgram, type EngineName } from '../../bpf/load.ts';
import { AddressSpaceError } from '../../bpf/memory.ts';
import { createStdHelpers } from '../../bpf/std-helpers.ts';
import { VerifierError } from '../../bpf/verifier/log.ts';
import type { SimThread, Task } from '../../sim/thread.ts';
import { EINVAL, ENOMEM } from '../errno.ts';
import { FILE_BPF_PROG, O_RDWR, OpenFile, type Process } from '../syscalls.ts';
import { xrpConfig } from './config.ts';
import { installXrp } from './install.ts';
import { XrpProgram } from './program.ts';

export interface ProgLoadAttr {
  /** The bytes of a .bpf.o (clang -target bpf). */
  object: Uint8Array;
  /** Function name, or a section name that holds exactly one program. */
  program: string;
  /** File name for messages. */
  fileName?: string;
  /** Execution engine (default 'jit'; 'interp' for tracing or cross-checks). */
  engine?: EngineName;
  /** The verifier's budget of processed instructions and stored states (default: verify()'s defaults). */
  verifierBudget?: VerifierBudget;
}

/** A verifier budget larger than the default, for a program that is known to need it. */
export interface VerifierBudget {
  insns: number;
  states: number;
}

export interface ProgLoadResult {
  /** The program fd, or -EINVAL (bad object/program, rejected by the verifier), -ENOMEM, -EMFILE. */
  fd: number;
  /** Verifier log: on rejection the reason and the register state at the rejected instruction. */
  log: readonly string[];
  /** The typed error behind a failure (VerifierError, ElfError, LinkError, ...), else null. */
  error: XrpError | null;
}

/** bpf(BPF_PROG_LOAD, { prog_type: XRP, ... }). Charges one syscall crossing (verification time is not modelled). */
export function* bpfProgLoad(t: SimThread, proc: Process, attr: ProgLoadAttr): Task<ProgLoadResult> {
  const c = proc.kernel.costs;
  yield t.cpu(c.syscallEntryNs);
  const out = progLoad(proc, attr);
  yield t.cpu(c.syscallExitNs);
  return out;
}

function progLoad(proc: Process, attr: ProgLoadAttr): ProgLoadResult {
  installXrp(proc.kernel);
  const fileName = attr.fileName ?? '<object>';
  if (!(attr.object instanceof Uint8Array) || typeof attr.program !== 'string') {
    return { fd: -EINVAL, log: ['BPF_PROG_LOAD: object must be bytes and program a name'], error: null };
  }
  try {
    const object = loadElf(attr.object, fileName);
    const linked = linkProgram(object, attr.program, proc.mem);
    const engineName = attr.engine ?? 'jit';
    const budget = attr.verifierBudget === undefined ? {} : { insnLimit: attr.verifierBudget.insns, stateLimit: attr.verifierBudget.states };
    const loaded = loadProgram(linked.program, { type: 'xrp', maps: linked.mapSpecs, source: linked.source, engine: engineName, ...budget });
    const sim = proc.kernel.sim;
    const helpers = createStdHelpers({ maps: linked.maps, clockNs: () => BigInt(sim.nowNs), randomU32: () => sim.rng.nextU32() }).table;
    const env = createExecEnv(proc.mem, helpers, xrpConfig(proc.kernel).insnLimit);
    const prog = new XrpProgram(linked.program.name, proc, loaded.engine, engineName, env, loaded.verification.stats.processedInsns, linked.mapSpecs.length === 0);
    const fd = proc.installFile(new OpenFile(FILE_BPF_PROG, O_RDWR, null, null, prog));
    return { fd, log: loaded.verification.log, error: null };
  } catch (error) {
    if (error instanceof AddressSpaceError) return { fd: -ENOMEM, log: [error.message], error };
    if (error instanceof VerifierError) {
      const log = [error.message];
      if (error.regState !== '') log.push(error.regState);
      return { fd: -EINVAL, log, error };
    }
    if (error instanceof XrpError) return { fd: -EINVAL, log: [error.message], error };
    throw error;
  }
}

/** A failed program load, with the verifier's (or loader's) message. */
export class XrpProgLoadError extends XrpError {
  constructor(
    readonly fileName: string,
    readonly program: string,
    readonly errno: number,
    readonly log: readonly string[],
    readonly loadError: XrpError | null,
  ) {
    super('XRP_PROG_LOAD', `loading ${program} from ${fileName} failed (errno ${-errno}): ${log.join('\n') || 'no log'}`);
  }
}

/** Reads a .bpf.o from the host file system and loads `program`; throws XrpProgLoadError. Returns the prog fd. */
export function* loadXrpProgramFile(t: SimThread, proc: Process, path: string, program: string, engine: EngineName = 'jit', verifierBudget?: VerifierBudget): Task<number> {
  const bytes = readFileSync(path);
  const attr: ProgLoadAttr = { object: bytes, program, fileName: path, engine };
  if (verifierBudget !== undefined) attr.verifierBudget = verifierBudget;
  const r = yield* bpfProgLoad(t, proc, attr);
  if (r.fd < 0) throw new XrpProgLoadError(path, program, r.fd, r.log, r.error);
  return r.fd;
}
