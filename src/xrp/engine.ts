// One read_xrp interface for every engine: the emulated kernel in virtual time
// (src/kernel/xrp/engine.ts) and the native engine on real files
// (src/native/engine.ts). A caller (the CLI, a benchmark, a data structure's
// client) opens one, loads a storage function, and calls readXrp with its
// scratch page; it never needs to know which engine answered.

import type { XrpRead, XrpStatusCode } from './status.ts';

/** What one read_xrp call ended with, in every engine. */
export interface XrpOutcome {
  /** DONE when every branch ended with done != 0, else the FIRST abnormal end. */
  readonly status: XrpStatusCode;
  /** 'DONE', 'LIMIT', ... */
  readonly statusName: string;
  /** The walk did not finish in the engine (status !== DONE). */
  readonly partial: boolean;
  /** r0 of the first PROG_ERROR (0n otherwise). */
  readonly progRet: bigint;
  /** Blocks read, the first included. */
  readonly reads: number;
  /** Reads submitted after the first (continuations and fan-out children): what the limit counts. */
  readonly resubmissions: number;
  readonly runs: number;
  readonly insnsExecuted: number;
  /** The offset of the first abnormal end, or of the last block whose run set done. */
  readonly stopOffsetBytes: number;
  /** Reads not done because their branch stopped for a resumable reason. */
  readonly pending: readonly XrpRead[];
  /** Why the first abnormal end happened (the fault message for FAULT); '' when DONE. */
  readonly detail: string;
}

export interface XrpCallParams {
  /** Size of the first read, 512..4096 in steps of 512 (default 512). */
  sizeBytes?: number;
  /** Resubmissions allowed (default: the engine's). */
  resubmitLimit?: number;
  /** Receives the 4096-byte data page of the last block read by the primary command (read_xrp's data_buf). */
  data?: Uint8Array;
}

/** A file with one storage function loaded, served by an engine. */
export interface XrpEngine {
  /** 'emulated' (virtual time) or 'native' (real file, real time). */
  readonly kind: 'emulated' | 'native';
  /** Resubmissions one read_xrp call may make unless its params say otherwise. */
  readonly resubmitLimit: number;
  /** Loads `programName` of the object file at `objectPath` (verified as an XRP program). */
  load(objectPath: string, programName: string): Promise<void>;
  /** read_xrp at `offsetBytes`; `scratch` (4096 bytes) is the scratch page, in and out. */
  readXrp(offsetBytes: number, scratch: Uint8Array, params?: XrpCallParams): Promise<XrpOutcome>;
  close(): Promise<void>;
}
