// The fuzzer of loaders and engines: mutated ELF objects (loadElf + verify),
// corrupted BPF-KV files (every engine must agree: src/kv/checks.ts) and
// corrupted xrpfs images (boot, open, look up). Each case runs in a child
// process with a timeout: a case that does not answer in time is a hang, a
// failure like a crash (an error that is not typed) or a disagreement. The
// child is replaced after a hang. Cases are made from (kind, seed), so a
// failure is repeated by its seed: scripts/fuzz.ts --seed S --count 1 --kinds K.

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FuzzCase, FuzzKind, FuzzReply } from './fuzz-runner.ts';

export type { FuzzKind } from './fuzz-runner.ts';
export const FUZZ_KINDS: readonly FuzzKind[] = ['elf', 'kv', 'image'];

export interface FuzzOptions {
  /** first seed; case n has seed + n */
  seed: number;
  /** cases at most (default: no limit, then `seconds` must be set) */
  count?: number;
  /** stop starting cases after this many seconds (counted from the end of the first case: the child's start-up is not fuzzing) */
  seconds?: number;
  /** cases run whatever the time (default: one of each kind) */
  minCases?: number;
  kinds: readonly FuzzKind[];
  /** per case (default 30 s: a BPF-KV case boots four machines and a native engine) */
  timeoutMs?: number;
  onCase?: (c: FuzzCase, r: FuzzReply) => void;
}

export interface FuzzTotals {
  cases: number;
  byKind: Record<FuzzKind, number>;
  hangs: number;
  failures: { kind: FuzzKind; seed: number; what: string; outcome: string }[];
  seconds: number;
}

const RUNNER = fileURLToPath(new URL('./fuzz-runner.ts', import.meta.url));

class Runner {
  private child: ChildProcess | null = null;
  private start(): ChildProcess {
    const child = fork(RUNNER, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    this.child = child;
    return child;
  }
  /** The case's reply, or 'hang' after `timeoutMs` (the child is then killed) or 'died'. */
  run(c: FuzzCase, timeoutMs: number): Promise<FuzzReply | 'hang' | 'died'> {
    const child = this.child ?? this.start();
    return new Promise((resolve) => {
      const done = (r: FuzzReply | 'hang' | 'died'): void => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(r);
      };
      const onMessage = (m: FuzzReply): void => done(m);
      const onExit = (): void => {
        this.child = null;
        done('died');
      };
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        this.child = null;
        done('hang');
      }, timeoutMs);
      child.on('message', onMessage);
      child.on('exit', onExit);
      child.send(c);
    });
  }
  close(): void {
    this.child?.disconnect();
    this.child = null;
  }
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzTotals> {
  if (options.count === undefined && options.seconds === undefined) throw new RangeError('runFuzz needs a count or a time');
  const started = Date.now();
  let clock = started;
  const minCases = options.minCases ?? options.kinds.length;
  const totals: FuzzTotals = { cases: 0, byKind: { elf: 0, kv: 0, image: 0 }, hangs: 0, failures: [], seconds: 0 };
  const runner = new Runner();
  // the child's start-up (loading the modules) is not a case's time
  const timeoutMs = options.timeoutMs ?? 30_000;
  try {
    for (let n = 0; ; n++) {
      if (options.count !== undefined && n >= options.count) break;
      if (options.seconds !== undefined && n >= minCases && Date.now() - clock > options.seconds * 1000) break;
      const kind = options.kinds[n % options.kinds.length]!;
      const c: FuzzCase = { kind, seed: options.seed + n };
      const r = await runner.run(c, n === 0 ? timeoutMs + 30_000 : timeoutMs);
      if (n === 0) clock = Date.now();
      totals.cases++;
      totals.byKind[kind]++;
      if (r === 'hang' || r === 'died') {
        if (r === 'hang') totals.hangs++;
        totals.failures.push({ kind, seed: c.seed, what: `${kind} seed ${c.seed}`, outcome: r === 'hang' ? `HANG (no answer in ${timeoutMs} ms)` : 'the runner died' });
        continue;
      }
      options.onCase?.(c, r);
      if (!r.ok) totals.failures.push({ kind, seed: c.seed, what: r.what, outcome: r.outcome });
    }
  } finally {
    runner.close();
  }
  totals.seconds = (Date.now() - started) / 1000;
  return totals;
}
