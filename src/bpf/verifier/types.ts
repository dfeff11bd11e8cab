// Program types: what r1 (and r2) hold on entry, which context accesses are
// allowed, and which helpers may be called with which prototypes (the
// kernel's bpf_verifier_ops and bpf_func_proto).

import { HelperId } from '../std-helpers.ts';

/**
 * xrp: r1 is struct bpf_xrp. mem: r1 points at a buffer whose size r2 holds.
 * socket: a socket filter, as the kernel-verifier wrappers of the storage
 * functions are (test/helpers/kernel-wrap.h): r1 is its context, none of whose
 * fields are modelled (every context access is rejected); maps and helpers as
 * for the others.
 */
export type ProgramType = 'xrp' | 'mem' | 'socket';

/** Size of the data and scratch pages the xrp context points at. */
export const XRP_PAGE_BYTES = 4096;
/** sizeof(struct bpf_xrp) */
export const XRP_CTX_BYTES = 280;
export const XRP_FANOUT_MAX = 16;

/** One context field: where it is, how wide an access must be, and what a load yields. */
export interface CtxField {
  readonly name: string;
  readonly offsetBytes: number;
  readonly sizeBytes: number;
  readonly writable: boolean;
  /** a load yields a pointer to this many bytes of memory (data, scratch) instead of a scalar */
  readonly pointsToMemBytes?: number;
}

function xrpFields(): CtxField[] {
  const fields: CtxField[] = [{ name: 'done', offsetBytes: 0, sizeBytes: 4, writable: true }];
  for (let i = 0; i < XRP_FANOUT_MAX; i++) fields.push({ name: `next_addr[${i}]`, offsetBytes: 8 + 8 * i, sizeBytes: 8, writable: true });
  for (let i = 0; i < XRP_FANOUT_MAX; i++) fields.push({ name: `size[${i}]`, offsetBytes: 136 + 8 * i, sizeBytes: 8, writable: true });
  fields.push({ name: 'data', offsetBytes: 264, sizeBytes: 8, writable: false, pointsToMemBytes: XRP_PAGE_BYTES });
  fields.push({ name: 'scratch', offsetBytes: 272, sizeBytes: 8, writable: false, pointsToMemBytes: XRP_PAGE_BYTES });
  return fields;
}

export const XRP_CTX_FIELDS: readonly CtxField[] = xrpFields();

/** The field an access of `sizeBytes` at `offsetBytes` hits exactly, if any (no partial or straddling access). */
export function findCtxField(offsetBytes: number, sizeBytes: number): CtxField | undefined {
  // by offset from a table (every ctx load of an xrp program comes here: no closure, no scan)
  const f = offsetBytes >= 0 && offsetBytes < XRP_CTX_BYTES ? CTX_FIELD_AT[offsetBytes] : undefined;
  return f !== undefined && f.sizeBytes === sizeBytes ? f : undefined;
}

/** The field starting at each byte offset of the context (fields do not overlap). */
const CTX_FIELD_AT: readonly (CtxField | undefined)[] = Array.from({ length: XRP_CTX_BYTES }, (_, off) => XRP_CTX_FIELDS.find((f) => f.offsetBytes === off));

// ---- helper prototypes ----------------------------------------------------------

export type ArgType =
  | 'anything' // ARG_ANYTHING: any initialised value
  | 'optional' // a variadic argument the helper reads only if the format asks: not checked
  | 'const_map_ptr' // ARG_CONST_MAP_PTR
  | 'map_key' // ARG_PTR_TO_MAP_KEY: key_size initialised bytes
  | 'map_value' // ARG_PTR_TO_MAP_VALUE: value_size initialised bytes
  | 'mem_readonly' // ARG_PTR_TO_MEM | MEM_RDONLY: followed by its size
  | 'const_size' // ARG_CONST_SIZE: a bounded scalar > 0, the size of the previous argument
  | 'const_size_or_zero'; // ARG_CONST_SIZE_OR_ZERO

export type RetType = 'integer' | 'map_value_or_null' | 'void';

export interface HelperProto {
  readonly id: number;
  readonly name: string;
  /** r1.. in order; unlisted arguments are not read */
  readonly args: readonly ArgType[];
  readonly ret: RetType;
}

export const STD_HELPER_PROTOS: readonly HelperProto[] = [
  { id: HelperId.MAP_LOOKUP_ELEM, name: 'bpf_map_lookup_elem', args: ['const_map_ptr', 'map_key'], ret: 'map_value_or_null' },
  { id: HelperId.MAP_UPDATE_ELEM, name: 'bpf_map_update_elem', args: ['const_map_ptr', 'map_key', 'map_value', 'anything'], ret: 'integer' },
  { id: HelperId.MAP_DELETE_ELEM, name: 'bpf_map_delete_elem', args: ['const_map_ptr', 'map_key'], ret: 'integer' },
  { id: HelperId.KTIME_GET_NS, name: 'bpf_ktime_get_ns', args: [], ret: 'integer' },
  { id: HelperId.TRACE_PRINTK, name: 'bpf_trace_printk', args: ['mem_readonly', 'const_size', 'optional', 'optional', 'optional'], ret: 'integer' },
  { id: HelperId.GET_PRANDOM_U32, name: 'bpf_get_prandom_u32', args: [], ret: 'integer' },
];

/** Helpers each program type may call (both types: the standard set). */
export function helpersFor(type: ProgramType, extra: readonly HelperProto[] = []): Map<number, HelperProto> {
  const table = new Map<number, HelperProto>();
  for (const p of STD_HELPER_PROTOS) table.set(p.id, p);
  void type;
  for (const p of extra) table.set(p.id, p);
  return table;
}

/** Kernel-style helper name for messages, even for unknown ids. */
export function helperName(id: number, table: ReadonlyMap<number, HelperProto>): string {
  return table.get(id)?.name ?? STD_HELPER_PROTOS.find((p) => p.id === id)?.name ?? `func`;
}
