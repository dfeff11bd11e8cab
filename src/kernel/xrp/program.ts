// A storage function loaded into a process (prog-load.ts makes it), and the
// lookup of a program fd that read_xrp and the fallback make.

import type { CtxRunner, Engine, ExecEnv } from '../../bpf/engine.ts';
import type { EngineName } from '../../bpf/load.ts';
import type { XrpRunner } from '../../xrp/step.ts';
import { EBADF, EINVAL } from '../errno.ts';
import { FILE_BPF_PROG, type Process } from '../syscalls.ts';

/** A loaded, verified and compiled storage function, owned by one process. */
export class XrpProgram implements XrpRunner {
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
  ) {
    this.runner = engine.ctxRunner(env);
  }

  private readonly runner: CtxRunner;

  /** One run with r1 = ctxAddr (an address in the process's memory): its instructions. Throws ExecutionFault. */
  run(ctxAddr: number): number {
    const n = this.runner.run(ctxAddr);
    this.runs++;
    this.insnsExecuted += n;
    return n;
  }

  /** r0 of the last run */
  get r0(): bigint {
    return this.runner.r0;
  }
}

/** The program behind `progFd`: the program, -EBADF (no such fd) or -EINVAL (an fd that is not a program). */
export function programOf(proc: Process, progFd: number): XrpProgram | number {
  const f = proc.file(progFd);
  if (f === null) return -EBADF;
  if (f.kind !== FILE_BPF_PROG || !(f.object instanceof XrpProgram)) return -EINVAL;
  return f.object;
}
