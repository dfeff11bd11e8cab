// A minimal WebAssembly binary encoder: LEB128 numbers, opcodes, and the few
// sections the JIT needs (types, imports, functions, globals, exports, code).
// Written by hand instead of using a compiler library: emitting bytes directly
// keeps compile time far below a millisecond per thousand eBPF instructions.

/** Value types. */
export const I32 = 0x7f;
export const I64 = 0x7e;
/** Block type of a block/loop/if with no result. */
export const VOID = 0x40;

/** The opcodes the JIT emits (WebAssembly core 2.0 plus the threads proposal's atomics). */
export const Op = {
  unreachable: 0x00,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  br_if: 0x0d,
  br_table: 0x0e,
  return: 0x0f,
  call: 0x10,
  drop: 0x1a,
  local_get: 0x20,
  local_set: 0x21,
  local_tee: 0x22,
  global_get: 0x23,
  global_set: 0x24,
  i32_load: 0x28,
  i64_load: 0x29,
  i32_load8_s: 0x2c,
  i32_load16_s: 0x2e,
  i64_load8_s: 0x30,
  i64_load8_u: 0x31,
  i64_load16_s: 0x32,
  i64_load16_u: 0x33,
  i64_load32_s: 0x34,
  i64_load32_u: 0x35,
  i32_store: 0x36,
  i64_store: 0x37,
  i64_store8: 0x3c,
  i64_store16: 0x3d,
  i64_store32: 0x3e,
  i32_const: 0x41,
  i64_const: 0x42,
  i32_eqz: 0x45,
  i32_eq: 0x46,
  i32_ne: 0x47,
  i32_lt_s: 0x48,
  i32_lt_u: 0x49,
  i32_gt_s: 0x4a,
  i32_gt_u: 0x4b,
  i32_le_s: 0x4c,
  i32_le_u: 0x4d,
  i32_ge_s: 0x4e,
  i32_ge_u: 0x4f,
  i64_eqz: 0x50,
  i64_eq: 0x51,
  i64_ne: 0x52,
  i64_lt_s: 0x53,
  i64_lt_u: 0x54,
  i64_gt_s: 0x55,
  i64_gt_u: 0x56,
  i64_le_s: 0x57,
  i64_le_u: 0x58,
  i64_ge_s: 0x59,
  i64_ge_u: 0x5a,
  i32_add: 0x6a,
  i32_sub: 0x6b,
  i32_mul: 0x6c,
  i32_div_s: 0x6d,
  i32_div_u: 0x6e,
  i32_rem_s: 0x6f,
  i32_rem_u: 0x70,
  i32_and: 0x71,
  i32_or: 0x72,
  i32_xor: 0x73,
  i32_shl: 0x74,
  i32_shr_s: 0x75,
  i32_shr_u: 0x76,
  i32_rotl: 0x77,
  i32_rotr: 0x78,
  i64_add: 0x7c,
  i64_sub: 0x7d,
  i64_mul: 0x7e,
  i64_div_s: 0x7f,
  i64_div_u: 0x80,
  i64_rem_s: 0x81,
  i64_rem_u: 0x82,
  i64_and: 0x83,
  i64_or: 0x84,
  i64_xor: 0x85,
  i64_shl: 0x86,
  i64_shr_s: 0x87,
  i64_shr_u: 0x88,
  i64_rotl: 0x89,
  i64_rotr: 0x8a,
  i32_wrap_i64: 0xa7,
  i64_extend_i32_s: 0xac,
  i64_extend_i32_u: 0xad,
  i32_extend8_s: 0xc0,
  i32_extend16_s: 0xc1,
  i64_extend8_s: 0xc2,
  i64_extend16_s: 0xc3,
  i64_extend32_s: 0xc4,
} as const;

/** Second byte of the 0xfe-prefixed atomic opcodes (threads proposal). */
export const AtomicOpcode = {
  prefix: 0xfe,
  i64_rmw_add: 0x1f,
  i64_rmw32_add_u: 0x24,
  i64_rmw_and: 0x2d,
  i64_rmw32_and_u: 0x32,
  i64_rmw_or: 0x34,
  i64_rmw32_or_u: 0x39,
  i64_rmw_xor: 0x3b,
  i64_rmw32_xor_u: 0x40,
  i64_rmw_xchg: 0x42,
  i64_rmw32_xchg_u: 0x47,
  i64_rmw_cmpxchg: 0x49,
  i64_rmw32_cmpxchg_u: 0x4e,
} as const;

/** A growable byte buffer with LEB128 writers. */
const UTF8 = new TextEncoder();

export class ByteWriter {
  private buf: Uint8Array<ArrayBuffer>;
  length = 0;

  /**
   * `capacityBytes`: the expected size. Small typed arrays live on V8's heap and
   * are cheap; large ones are allocated outside it, so size big writers once.
   */
  constructor(capacityBytes = 64) {
    this.buf = new Uint8Array(Math.max(16, capacityBytes));
  }

  private ensure(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.length++] = b & 0xff;
  }

  bytes(data: Uint8Array): void {
    this.ensure(data.length);
    this.buf.set(data, this.length);
    this.length += data.length;
  }

  /** Unsigned LEB128 of a non-negative safe integer below 2^32. */
  u32(value: number): void {
    let v = value >>> 0;
    this.ensure(5);
    for (;;) {
      const b = v & 0x7f;
      v >>>= 7;
      if (v === 0) {
        this.buf[this.length++] = b;
        return;
      }
      this.buf[this.length++] = b | 0x80;
    }
  }

  /** Signed LEB128 of an int32. */
  s32(value: number): void {
    let v = value | 0;
    this.ensure(5);
    for (;;) {
      const b = v & 0x7f;
      v >>= 7;
      const done = (v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0);
      if (done) {
        this.buf[this.length++] = b;
        return;
      }
      this.buf[this.length++] = b | 0x80;
    }
  }

  /** Signed LEB128 of a 64-bit value given as (lo, hi) int32 words. */
  s64(lo: number, hi: number): void {
    // Fast path: values that are sign-extended int32s.
    if (hi === lo >> 31) {
      this.s32(lo);
      return;
    }
    let v = BigInt.asIntN(64, (BigInt(hi | 0) << 32n) | BigInt(lo >>> 0));
    this.ensure(10);
    for (;;) {
      const b = Number(v & 0x7fn);
      v >>= 7n;
      const done = (v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0);
      if (done) {
        this.buf[this.length++] = b;
        return;
      }
      this.buf[this.length++] = b | 0x80;
    }
  }

  name(text: string): void {
    const data = UTF8.encode(text);
    this.u32(data.length);
    this.bytes(data);
  }

  finish(): Uint8Array<ArrayBuffer> {
    return this.buf.slice(0, this.length);
  }

  /** A view of the bytes written so far (no copy; valid until the next write). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

export interface FuncType {
  params: number[];
  results: number[];
}

export interface ImportedFunc {
  module: string;
  name: string;
  type: number;
}

export interface GlobalDef {
  type: number;
  mutable: boolean;
  /** initial value (i32 or i64 zero is enough for the JIT) */
  init: 0;
}

export interface FuncBody {
  type: number;
  /** local declarations after the params: [count, type] groups */
  locals: Array<[number, number]>;
  /** the instructions, without the final `end` (added here) */
  code: Uint8Array;
}

export interface ModuleParts {
  types: FuncType[];
  imports: ImportedFunc[];
  /** imported memory env.memory, with no maximum so that any AddressSpace fits */
  memoryImport: { module: string; name: string };
  globals: GlobalDef[];
  funcs: FuncBody[];
  exports: Array<{ name: string; kind: 'func' | 'global'; index: number }>;
}

export interface AssembledModule {
  bytes: Uint8Array<ArrayBuffer>;
  /** byte offset in `bytes` of each defined function's code (after its local declarations) */
  codeOffsets: number[];
}

function section(out: ByteWriter, id: number, body: ByteWriter): void {
  out.byte(id);
  out.u32(body.length);
  out.bytes(body.view());
}

/** Assemble a module; also returns where each function's instructions start, for trap locations. */
export function assembleModule(parts: ModuleParts): AssembledModule {
  let codeBytes = 0;
  for (const f of parts.funcs) codeBytes += f.code.length + 16;
  const out = new ByteWriter(codeBytes + 1024);
  out.bytes(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));

  const types = new ByteWriter(256);
  types.u32(parts.types.length);
  for (const t of parts.types) {
    types.byte(0x60);
    types.u32(t.params.length);
    for (const p of t.params) types.byte(p);
    types.u32(t.results.length);
    for (const r of t.results) types.byte(r);
  }
  section(out, 1, types);

  const imports = new ByteWriter();
  imports.u32(parts.imports.length + 1);
  for (const imp of parts.imports) {
    imports.name(imp.module);
    imports.name(imp.name);
    imports.byte(0x00);
    imports.u32(imp.type);
  }
  imports.name(parts.memoryImport.module);
  imports.name(parts.memoryImport.name);
  imports.byte(0x02);
  imports.byte(0x00); // limits: min only
  imports.u32(0);
  section(out, 2, imports);

  const funcs = new ByteWriter();
  funcs.u32(parts.funcs.length);
  for (const f of parts.funcs) funcs.u32(f.type);
  section(out, 3, funcs);

  if (parts.globals.length > 0) {
    const globals = new ByteWriter();
    globals.u32(parts.globals.length);
    for (const g of parts.globals) {
      globals.byte(g.type);
      globals.byte(g.mutable ? 1 : 0);
      globals.byte(g.type === I64 ? Op.i64_const : Op.i32_const);
      globals.byte(0);
      globals.byte(Op.end);
    }
    section(out, 6, globals);
  }

  const exportsW = new ByteWriter();
  exportsW.u32(parts.exports.length);
  for (const e of parts.exports) {
    exportsW.name(e.name);
    exportsW.byte(e.kind === 'func' ? 0x00 : 0x03);
    exportsW.u32(e.index);
  }
  section(out, 7, exportsW);

  // The code section is written by hand so that each body's start offset is known.
  // Each body is its locals declaration, the code, and `end`; the code is copied
  // once, straight into the module.
  const heads: ByteWriter[] = [];
  const bodyLengths: number[] = [];
  for (const f of parts.funcs) {
    const head = new ByteWriter();
    head.u32(f.locals.length);
    for (const [count, type] of f.locals) {
      head.u32(count);
      head.byte(type);
    }
    heads.push(head);
    bodyLengths.push(head.length + f.code.length + 1);
  }
  const sizes = new ByteWriter();
  sizes.u32(parts.funcs.length);
  let sectionLength = sizes.length;
  const sizeFields: ByteWriter[] = bodyLengths.map((length) => {
    const w = new ByteWriter();
    w.u32(length);
    sectionLength += w.length + length;
    return w;
  });
  out.byte(10);
  out.u32(sectionLength);
  out.bytes(sizes.view());
  const codeOffsets: number[] = [];
  parts.funcs.forEach((f, i) => {
    const sizeField = sizeFields[i];
    const head = heads[i];
    if (sizeField === undefined || head === undefined) throw new Error(`internal: function ${i} has no header`);
    out.bytes(sizeField.view());
    out.bytes(head.view());
    codeOffsets.push(out.length);
    out.bytes(f.code);
    out.byte(Op.end);
  });
  return { bytes: out.finish(), codeOffsets };
}
