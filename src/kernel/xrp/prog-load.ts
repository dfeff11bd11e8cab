// bpf(BPF_PROG_LOAD) for storage functions: parse the object, link its maps
// into the process's address space, verify the program as type `xrp` and
// compile it with the JIT (src/bpf/load.ts loadProgram), and install it in the
// process's fd table. The program then runs in that address space: in the NVMe
// completion hook (kernel) and in the user-space fallback, with the same maps.

import { readFileSync } from 'node:fs';
import { loadElf } from '../../bpf/elf.ts';
import { createExecEnv, type Engine, type ExecEnv, type RunResult } from '../../bpf/engine.ts';
import { XrpError } from '../../bpf/errors.ts';
import { linkProgram } from '../../bpf/link.ts';
import { loadProgram, type EngineName } from '../../bpf/load.ts';
import { AddressSpaceError } from '../../bpf/memory.ts';
import { createStdHelpers } from '../../bpf/std-helpers.ts';
import { VerifierError } from '../../bpf/verifier/log.ts';
import type { SimThread, Task } from '../../sim/thread.ts';
import { EBADF, EINVAL, ENOMEM } from '../errno.ts';
import { FILE_BPF_PROG, O_RDWR, OpenFile, type Process } from '../syscalls.ts';
import { installXrp, xrpConfig } from './config.ts';
// read-xrp.ts registers IORING_OP_READ_XRP when XRP is installed in a kernel.
import './read-xrp.ts';

/** A loaded, verified and compiled storage function, owned by one process. */
export class XrpProgram {
  /** Program runs and their instructions, kernel and user space together. */
  runs = 0;
  insnsExecuted = 0;

  constructor(
    readonly name: string,
    readonly proc: Process,
    readonly engine: Engine,
    readonly engineName: EngineName,
    readonly env: ExecEnv,
    /** Instructions the verifier processed. */
    readonly verifiedInsns: number,
    /** True when the program has no maps: its whole state is scratch and ctx (the cycle rule of src/xrp/cycle.ts applies). */
    readonly stateless = true,
  ) {}

  /** One run with r1 = ctxAddr (an address in the process's memory). Throws ExecutionFault. */
  run(ctxAddr: number): RunResult {
    const r = this.engine.run(this.env, [BigInt(ctxAddr)]);
    this.runs++;
    this.insnsExecuted += r.insnsExecuted;
    return r;
  }
}

export interface ProgLoadAttr {
  /** The bytes of a .bpf.o (clang -target bpf). */
  object: Uint8Array;
  /** Function name, or a section name that holds exactly one program. */
  program: string;
  /** File name for messages. */
  fileName?: string;
  /** Execution engine (default 'jit'; 'interp' for tracing or cross-checks). */
  engine?: EngineName;
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
    const loaded = loadProgram(linked.program, { type: 'xrp', maps: linked.mapSpecs, source: linked.source, engine: engineName });
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
export function* loadXrpProgramFile(t: SimThread, proc: Process, path: string, program: string, engine: EngineName = 'jit'): Task<number> {
  const bytes = readFileSync(path);
  const r = yield* bpfProgLoad(t, proc, { object: bytes, program, fileName: path, engine });
  if (r.fd < 0) throw new XrpProgLoadError(path, program, r.fd, r.log, r.error);
  return r.fd;
}

/** The program behind `progFd`: the program, -EBADF (no such fd) or -EINVAL (an fd that is not a program). */
export function programOf(proc: Process, progFd: number): XrpProgram | number {
  const f = proc.file(progFd);
  if (f === null) return -EBADF;
  if (f.kind !== FILE_BPF_PROG || !(f.object instanceof XrpProgram)) return -EINVAL;
  return f.object;
}
