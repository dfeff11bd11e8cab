// XRP's kernel-wide configuration and per-process kernel state.
//
// Costs of the completion hook are modelling choices (the XRP paper gives no
// per-layer figure for them), kept small and configurable:
//   hookNs   fixed work of one hook invocation in the interrupt handler: re-look
//            up the mapping in the metadata digest and compare its version, set
//            up ctx, dispatch the program, translate the next offset (100 ns)
//   insnNs   per executed eBPF instruction of the JIT-compiled program (1 ns,
//            about one instruction per cycle at 3 GHz with some stalls)
// A resubmission also pays the NVMe driver's submission cost (57 ns of Table
// 1's 113 ns), and each completion its 56 ns, exactly like a read() hop.

import type { Region } from '../../bpf/memory.ts';
import { SimError } from '../../sim/errors.ts';
import { CTX_BYTES, XRP_PAGE_BYTES } from '../../xrp/layout.ts';
import { resubmitLimitProblem, XRP_INSN_LIMIT_DEFAULT, XRP_RESUBMIT_LIMIT_DEFAULT } from '../../xrp/limits.ts';
import { XrpStepOutcome } from '../../xrp/step.ts';
import type { Kernel } from '../kernel.ts';
import type { Process } from '../syscalls.ts';

export interface XrpCosts {
  /** Fixed CPU cost of one hook invocation (interrupt context). */
  hookNs: number;
  /** CPU cost per executed instruction, in the hook. */
  insnNs: number;
  /** CPU cost per executed instruction when the fallback runs the program in user space. */
  userInsnNs: number;
}

export const DEFAULT_XRP_COSTS: XrpCosts = { hookNs: 100, insnNs: 1, userInsnNs: 1 };

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
