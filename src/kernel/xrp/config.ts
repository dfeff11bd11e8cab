// XRP's kernel-wide configuration and per-process kernel state.
//
// The completion hook's CPU, charged in interrupt context to the interrupted
// core, is named work with a source each (docs/calibration.md):
//   dispatchNs    entering the program: set ctx.data/scratch, the indirect call
//                 and return (30 ns: an empty XDP program under `bpftool prog
//                 run ... repeat 2000000` on an x86-64 host, 29-36 ns, which
//                 also holds the test-run loop's own work: an upper bound)
//   digestNodeNs  one node of the metadata digest's extent tree visited by a
//                 lookup (5 ns: a dependent load served by L2, about 14 cycles
//                 at 3 GHz, since every completion walks the same tree); a
//                 lookup visits floor(log2(extents)) + 1 nodes, once to re-check
//                 the block just read and once per read it asks for
//   insnPs        per executed instruction of the JIT-compiled program, in
//                 picoseconds (75 ps: the x86-64 kernel JIT on a loop of loads,
//                 ALU and branches, `bpftool prog run`, slope over 0..800
//                 iterations); the user-space fallback runs the same code
// Building the next command and ringing the doorbell is the NVMe driver's
// submission cost (57 ns of Table 1's 113 ns), and each completion pays its
// 56 ns, exactly like a read() hop.

import type { Region } from '../../bpf/memory.ts';
import { SimError } from '../../sim/errors.ts';
import { CTX_BYTES, XRP_PAGE_BYTES } from '../../xrp/layout.ts';
import { resubmitLimitProblem, XRP_INSN_LIMIT_DEFAULT, XRP_RESUBMIT_LIMIT_DEFAULT } from '../../xrp/limits.ts';
import { XrpStepOutcome } from '../../xrp/step.ts';
import type { Kernel } from '../kernel.ts';
import type { Process } from '../syscalls.ts';

export interface XrpCosts {
  /** Entering and leaving the program once (interrupt context). */
  dispatchNs: number;
  /** One node of the metadata digest's extent tree visited by a lookup. */
  digestNodeNs: number;
  /** Per executed instruction of the JIT-compiled program, in picoseconds (hook and fallback alike). */
  insnPs: number;
}

export const DEFAULT_XRP_COSTS: XrpCosts = { dispatchNs: 30, digestNodeNs: 5, insnPs: 75 };

/** CPU of one metadata-digest lookup in a map of `extentCount` extents: the nodes an RB-tree search visits. */
export function digestLookupNs(costs: XrpCosts, extentCount: number): number {
  return (Math.floor(Math.log2(Math.max(1, extentCount))) + 1) * costs.digestNodeNs;
}

/** CPU of `insns` executed instructions of the JIT-compiled program, in whole nanoseconds (virtual time is integer). */
export function programNs(costs: XrpCosts, insns: number): number {
  return Math.ceil((insns * costs.insnPs) / 1000);
}

export type XrpFanoutMode = 'parallel' | 'serial';

export interface XrpConfig {
  costs: XrpCosts;
  /** Default resubmission limit of a request (read_xrp may override per call). */
  resubmitLimit: number;
  /** 'parallel': fan-out slots go out at once on their own commands, spread over the queues; 'serial': one command reads them one after another. */
  fanout: XrpFanoutMode;
  /** Run-time instruction limit of one program run (a FAULT beyond it; verified programs stay far below). */
  insnLimit: number;
}

export interface XrpOptions {
  costs?: Partial<XrpCosts>;
  resubmitLimit?: number;
  fanout?: XrpFanoutMode;
  insnLimit?: number;
}

export class XrpConfigError extends SimError {}

export function checkResubmitLimit(limit: number): void {
  const problem = resubmitLimitProblem(limit);
  if (problem !== null) throw new XrpConfigError(problem);
}

export function checkFanout(mode: string): void {
  if (mode !== 'parallel' && mode !== 'serial') throw new XrpConfigError(`XRP fan-out mode must be 'parallel' or 'serial', got '${mode}'`);
}

/**
 * The kernel's mutable XRP configuration, made on first use and updated with
 * `options`. installXrp (install.ts) also registers IORING_OP_READ_XRP.
 */
export function configureXrp(kernel: Kernel, options: XrpOptions = {}): XrpConfig {
  let cfg = kernel.xrp;
  if (cfg === null) {
    cfg = { costs: { ...DEFAULT_XRP_COSTS }, resubmitLimit: XRP_RESUBMIT_LIMIT_DEFAULT, fanout: 'parallel', insnLimit: XRP_INSN_LIMIT_DEFAULT };
    kernel.xrp = cfg;
  }
  if (options.costs !== undefined) {
    const costs = { ...cfg.costs, ...options.costs };
    for (const [k, v] of Object.entries(costs)) {
      if (!Number.isSafeInteger(v) || (v as number) < 0) throw new XrpConfigError(`XRP cost ${k} must be a non-negative integer of ns, got ${String(v)}`);
    }
    cfg.costs = costs;
  }
  if (options.resubmitLimit !== undefined) {
    checkResubmitLimit(options.resubmitLimit);
    cfg.resubmitLimit = options.resubmitLimit;
  }
  if (options.fanout !== undefined) {
    checkFanout(options.fanout);
    cfg.fanout = options.fanout;
  }
  if (options.insnLimit !== undefined) {
    if (!Number.isSafeInteger(options.insnLimit) || options.insnLimit < 1) throw new XrpConfigError(`XRP insnLimit must be a positive integer, got ${String(options.insnLimit)}`);
    cfg.insnLimit = options.insnLimit;
  }
  return cfg;
}

/** The kernel's XRP configuration (the defaults until configured). */
export function xrpConfig(kernel: Kernel): XrpConfig {
  return kernel.xrp ?? configureXrp(kernel);
}

/**
 * Kernel memory of XRP inside a process's address space: a ctx (struct
 * bpf_xrp) per in-flight NVMe command and the 4096-byte data pages of fan-out
 * commands. Programs run in the process's address space (their maps are
 * linked there and scratch is the user's page), so these regions live there
 * too; they are pooled because an AddressSpace never unmaps.
 */
export class XrpProcState {
  private readonly ctxFree: Region[] = [];
  private readonly pageFree: Region[] = [];
  /** The outcome of the contract's step, reused by the hook (it copies what it needs out before it yields). */
  readonly step = new XrpStepOutcome();
  /** The user-space fallback's pages (fallback.ts), mapped on its first use. */
  fallbackPages: { bounce: Region; ctx: Region } | null = null;
  constructor(readonly proc: Process) {}

  takeCtx(): Region {
    return this.ctxFree.pop() ?? this.proc.mem.map('xrp-ctx', CTX_BYTES, { alignBytes: 8 });
  }

  giveCtx(r: Region): void {
    this.ctxFree.push(r);
  }

  takePage(): Region {
    return this.pageFree.pop() ?? this.proc.mem.map('xrp-page', XRP_PAGE_BYTES);
  }

  givePage(r: Region): void {
    this.pageFree.push(r);
  }
}

/** The process's XRP state, made on first use. */
export function xrpProcState(proc: Process): XrpProcState {
  let s = proc.xrp;
  if (s === null) {
    s = new XrpProcState(proc);
    proc.xrp = s;
  }
  return s;
}
