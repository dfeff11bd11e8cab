// eBPF assembler for two syntaxes, chosen per line:
//
// - uBPF / bpf_conformance syntax (`mov %r0, 1`, `ldxw %r0, [%r1+4]`, `lock fetch add [%r1], %r2`,
//   `jne %r0, 15, failed`, `call local f`), as accepted by bpf_conformance's bpf_assembler.cc;
// - llvm-objdump / kernel style, the one our disassembler prints (`r0 = *(u32 *)(r1 + 4)`,
//   `if w1 s> 5 goto +3`, `r1 = 0x1122334455667788 ll`, `lock *(u64 *)(r1 + 0) += r2`).
//
// A line holds optional labels (`name:`), at most one instruction and an optional comment
// (`#`, `;` or `//`). A leading slot index (`12:`, as `disassemble` prints) and a kernel
// verifier log's opcode (`12: (b7) r0 = 1`) are ignored.
// `.raw 0x...` emits one slot from a 64-bit word (low byte = opcode), which lets any slot,
// even an invalid one, be written down.
// As in bpf_conformance, the label `exit` names the first `exit` instruction unless the
// program defines `exit:` itself.

import { XrpError } from '../../base/errors.ts';
import {
  AluOp,
  AtomicOp,
  CallSrc,
  EndSource,
  InsnClass,
  JmpOp,
  LDDW_OPCODE,
  LdImm64Src,
  Mode,
  Size,
  Source,
  insn,
} from '../isa.ts';
import type { Insn } from '../isa.ts';
import { at } from '../../base/checked.ts';

export type AsmSyntax = 'auto' | 'ubpf' | 'llvm';

export interface AssembleOptions {
  /** `auto` (default) decides per line; `ubpf` or `llvm` force one syntax */
  syntax?: AsmSyntax;
  /** named in error messages */
  fileName?: string;
  /** line number of the first line of `source` (e.g. where `-- asm` starts in a .data file); default 1 */
  firstLine?: number | undefined;
}

/** A syntax or range error, naming the file, the line and the offending text. */
export class AsmError extends XrpError {
  constructor(
    readonly fileName: string,
    readonly line: number,
    readonly text: string,
    readonly reason: string,
  ) {
    super('ASM', `${fileName}:${line}: ${reason} (in "${text.length > 120 ? `${text.slice(0, 117)}...` : text}")`);
  }
}

/** Thrown by the line parsers; the driver adds file, line and text. */
class LineError extends Error {}

/** Capture group `i` of a match (a group the pattern always captures; a LineError, not a crash, if it did not). */
function group(m: RegExpExecArray, i: number): string {
  const g = m[i];
  if (g === undefined) throw new LineError(`cannot parse '${m[0]}'`);
  return g;
}

/** `table[key]` for a key a pattern matched from the table's own names (a LineError, not a crash, if it is not there). */
function entry<T>(table: Readonly<Record<string, T>>, key: string): T {
  const value = table[key];
  if (value === undefined) throw new LineError(`unknown '${key}'`);
  return value;
}

/** Operand `i` of a line whose operand count was checked. */
function operand(operands: readonly string[], i: number): string {
  const o = operands[i];
  if (o === undefined) throw new LineError(`missing operand ${i + 1}`);
  return o;
}

type TargetField = 'off' | 'imm';

/** What one instruction line produces: its slots and, for a symbolic jump, the label to resolve. */
interface Emitted {
  slots: Insn[];
  label?: { name: string; field: TargetField };
}

/** Longest accepted source line: a limit, so no input can make matching slow. */
export const LINE_CHARS_MAX = 4096;

const LABEL_RE = /^([A-Za-z_.$][\w.$]*)\s*:(?!=)\s*/;

/** A program with where each slot came from. */
export interface AssembledProgram {
  insns: Insn[];
  /** source line of each slot (both slots of an lddw name its line) */
  sourceLines: number[];
  /** slot index of each label (the implicit `exit` label included when used) */
  labels: ReadonlyMap<string, number>;
}

/** Assemble `source` into slots; throws `AsmError` naming the line of the first problem. */
export function assemble(source: string, options: AssembleOptions = {}): Insn[] {
  return assembleProgram(source, options).insns;
}

/** `assemble`, also returning the source line of every slot and the label table. */
export function assembleProgram(source: string, options: AssembleOptions = {}): AssembledProgram {
  const fileName = options.fileName ?? '<asm>';
  const firstLine = options.firstLine ?? 1;
  const syntax = options.syntax ?? 'auto';
  const labels = new Map<string, { slot: number; line: number }>();
  const fixups: { slot: number; name: string; field: TargetField; line: number; text: string }[] = [];
  const out: Insn[] = [];
  const sourceLines: number[] = [];
  let firstExitSlot: number | undefined;

  const sourceLinesText = source.split(/\r?\n/);
  for (const [i, rawLine] of sourceLinesText.entries()) {
    const line = firstLine + i;
    if (rawLine.length > LINE_CHARS_MAX) throw new AsmError(fileName, line, rawLine.trim(), `line longer than ${LINE_CHARS_MAX} characters`);
    // One space between tokens keeps every pattern below linear in the line length.
    let text = stripComment(rawLine).trim().replace(/\s+/g, ' ');
    // `disassemble` output and llvm-objdump listings carry a slot index (`  12:\tr0 = 1`),
    // kernel verifier logs also the opcode (`12: (b7) r0 = 1`).
    text = text.replace(/^\d+:\s*/, '');
    const kernelOpcode = /^\(([0-9a-f]{2})\)\s*/i.exec(text);
    if (kernelOpcode) {
      text = text.slice(kernelOpcode[0].length);
      // The kernel prints lddw as `(18) r1 = 0x1122334455667788`, without `ll`.
      if (kernelOpcode[1] === '18' && !/\sll$/i.test(text)) text += ' ll';
    }
    // llvm-objdump symbol headers: `0000000000000038 <LBB0_2>:`
    const header = /^[0-9a-f]+\s+<([^<>\s]+)>:$/i.exec(text);
    if (header) text = `${header[1]}:`;
    for (let m = LABEL_RE.exec(text); m; m = LABEL_RE.exec(text)) {
      const name = group(m, 1);
      const previous = labels.get(name);
      if (previous) throw new AsmError(fileName, line, rawLine.trim(), `duplicate label '${name}' (first defined at line ${previous.line})`);
      labels.set(name, { slot: out.length, line });
      text = text.slice(m[0].length);
    }
    if (text === '') continue;

    let emitted: Emitted;
    try {
      emitted = assembleLine(text, syntax, kernelOpcode !== null);
    } catch (err) {
      if (err instanceof LineError) throw new AsmError(fileName, line, rawLine.trim(), err.message);
      throw err;
    }
    const first = emitted.slots[0];
    if (first === undefined) throw new AsmError(fileName, line, rawLine.trim(), 'the line assembles to no instruction');
    if (kernelOpcode && first.code !== parseInt(group(kernelOpcode, 1), 16)) {
      const found = first.code.toString(16).padStart(2, '0');
      throw new AsmError(fileName, line, rawLine.trim(), `the logged opcode (${kernelOpcode[1]}) is not the opcode of the instruction (${found})`);
    }
    if (firstExitSlot === undefined && emitted.slots.length === 1 && first.code === (InsnClass.JMP | JmpOp.EXIT)) {
      firstExitSlot = out.length;
    }
    if (emitted.label) fixups.push({ slot: out.length, name: emitted.label.name, field: emitted.label.field, line, text: rawLine.trim() });
    for (const slot of emitted.slots) {
      out.push(slot);
      sourceLines.push(line);
    }
  }

  for (const fixup of fixups) {
    let target = labels.get(fixup.name)?.slot;
    if (target === undefined && fixup.name === 'exit' && firstExitSlot !== undefined) {
      target = firstExitSlot;
      labels.set('exit', { slot: firstExitSlot, line: at(sourceLines, firstExitSlot, 'source line of the first exit') });
    }
    if (target === undefined) throw new AsmError(fileName, fixup.line, fixup.text, `undefined label '${fixup.name}'`);
    const delta = target - fixup.slot - 1;
    const slot = out[fixup.slot];
    if (slot === undefined) throw new AsmError(fileName, fixup.line, fixup.text, `label fixup at slot ${fixup.slot}, past the ${out.length} slots assembled`);
    if (fixup.field === 'off') {
      if (delta < -0x8000 || delta > 0x7fff) {
        throw new AsmError(fileName, fixup.line, fixup.text, `jump to '${fixup.name}' is ${delta} slots away, beyond the 16-bit offset range`);
      }
      slot.off = delta;
    } else {
      slot.imm = delta;
    }
  }
  return { insns: out, sourceLines, labels: new Map([...labels].map(([name, at]) => [name, at.slot])) };
}

/**
 * Assemble one instruction (no label, no comment). `rawImm`: the line comes from a kernel
 * verifier log, which prints immediates as raw 32-bit fields (`if r1 > 0xffffffff` is imm -1).
 */
function assembleLine(text: string, syntax: AsmSyntax, rawImm: boolean): Emitted {
  const raw = /^\.raw\s+(\S+)$/i.exec(text);
  if (raw) return { slots: [rawSlot(group(raw, 1))] };
  const headMatch = /^(\S+)/.exec(text);
  if (headMatch === null) throw new LineError('empty instruction');
  const head = group(headMatch, 1).toLowerCase();
  if (head === 'call' || head === 'callx') return parseCall(text);
  if (head === 'exit') {
    if (text.toLowerCase() !== 'exit') throw new LineError('exit takes no operands');
    return { slots: [insn(InsnClass.JMP | JmpOp.EXIT)] };
  }
  const useUbpf = syntax === 'ubpf' || (syntax === 'auto' && looksUbpf(text, head));
  return useUbpf ? parseUbpf(text) : parseLlvm(text, rawImm);
}

/** Whether a line is in uBPF syntax: llvm lines start with a register, `*`, `if`, `goto`, `gotol` or `lock *`. */
function looksUbpf(text: string, head: string): boolean {
  if (/^[rw]\d+$/i.test(head) || /^[rw]\d+\s*[^\s\w]/i.test(text)) return false;
  if (text.startsWith('*')) return false;
  if (head === 'if' || head === 'goto' || head === 'gotol') return false;
  if (head === 'lock') return !/^lock\s+\*/i.test(text);
  return true;
}

// ---------------------------------------------------------------------------------------
// Numbers, registers, targets

/** Cut `#`, `;` and `//` comments; a `#` glued to a word is not one (kernel logs print `call bpf_map_lookup_elem#1`). */
function stripComment(line: string): string {
  const m = /(^|\s)#|;|\/\//.exec(line);
  return m ? line.slice(0, m.index) : line;
}

/** An integer literal: decimal or 0x hex, optionally signed. */
export function parseIntegerLiteral(text: string): bigint | undefined {
  const m = /^([+-]?)\s*(0x[0-9a-f]+|[0-9]+)$/i.exec(text.trim());
  if (!m) return undefined;
  const magnitude = BigInt(group(m, 2));
  return m[1] === '-' ? -magnitude : magnitude;
}

/**
 * A number for a field of `bits` bits, returned as the signed value stored in the field.
 * `unsignedToo` also admits 2^(bits-1)..2^bits-1 (wrapping), as uBPF does (`mov32 %r0, 0xffffffff`).
 */
function parseField(text: string, bits: 16 | 32, what: string, unsignedToo: boolean): number {
  const value = parseIntegerLiteral(text);
  if (value === undefined) throw new LineError(`${what} '${text}' is not a number`);
  const min = -(1n << BigInt(bits - 1));
  const max = unsignedToo ? (1n << BigInt(bits)) - 1n : (1n << BigInt(bits - 1)) - 1n;
  if (value < min || value > max) {
    throw new LineError(`${what} ${text} out of range (${min}..${max})`);
  }
  return Number(BigInt.asIntN(bits, value));
}

function parseImm64(text: string): bigint {
  const value = parseIntegerLiteral(text);
  if (value === undefined) throw new LineError(`64-bit immediate '${text}' is not a number`);
  if (value < -(1n << 63n) || value > (1n << 64n) - 1n) throw new LineError(`64-bit immediate ${text} out of range`);
  return BigInt.asUintN(64, value);
}

function rawSlot(text: string): Insn {
  const word = parseImm64(text);
  return insn(
    Number(word & 0xffn),
    Number((word >> 8n) & 0xfn),
    Number((word >> 12n) & 0xfn),
    Number((word >> 16n) & 0xffffn),
    Number((word >> 32n) & 0xffffffffn),
  );
}

/** Register number 0..15 (r11..r15 encode but no runtime accepts them; the verifier rejects them). */
function regNumber(digits: string, text: string): number {
  const n = Number(digits);
  if (!/^\d{1,2}$/.test(digits) || n > 15) throw new LineError(`bad register '${text}'`);
  return n;
}

/** A register operand (`%r1`, or `r1` without the `%`), as opposed to an immediate. */
function isUbpfRegOperand(text: string): boolean {
  return text.startsWith('%') || /^r\d+$/i.test(text);
}

function ubpfReg(text: string): number {
  const m = /^%?r(\d+)$/i.exec(text.trim());
  if (!m) throw new LineError(`bad register '${text.trim()}'`);
  return regNumber(group(m, 1), text.trim());
}

interface LlvmReg {
  n: number;
  wide: boolean; // r (64-bit) or w (32-bit)
}

function llvmReg(text: string): LlvmReg {
  const m = /^([rw])(\d+)$/i.exec(text.trim());
  if (!m) throw new LineError(`bad register '${text.trim()}'`);
  return { n: regNumber(group(m, 2), text.trim()), wide: group(m, 1).toLowerCase() === 'r' };
}

const IDENT_RE = /^[A-Za-z_.$][\w.$]*$/;

/**
 * A jump target: `+N`, `-N`, `pc+N`, a bare integer (all relative to the next slot) or a label.
 * Returns the offset, or the label to resolve later.
 */
function parseTarget(text: string, bits: 16 | 32): { offset: number } | { label: string } {
  const t = text.trim().replace(/^pc(?=[+-])/i, '');
  if (parseIntegerLiteral(t) !== undefined) return { offset: parseField(t, bits, 'jump offset', false) };
  if (IDENT_RE.test(t)) return { label: t };
  throw new LineError(`bad jump target '${text.trim()}'`);
}

function withTarget(slot: Insn, text: string, field: TargetField): Emitted {
  const target = parseTarget(text, field === 'off' ? 16 : 32);
  if ('label' in target) return { slots: [slot], label: { name: target.label, field } };
  if (field === 'off') slot.off = target.offset;
  else slot.imm = target.offset;
  return { slots: [slot] };
}

// ---------------------------------------------------------------------------------------
// Shared forms: calls and 64-bit immediates

/** `call N`, `call helper N`, `call local f`, `call pc+3`, `call f`, `call runtime N`, `call btf_id(N)`, `call %r2`, `callx r2`. */
function parseCall(text: string): Emitted {
  const m = /^(callx|call)\s+(.*)$/i.exec(text);
  if (!m) throw new LineError('call needs a target');
  const callx = group(m, 1).toLowerCase() === 'callx';
  let rest = group(m, 2).trim();
  const regMatch = /^%?[rw]\d+$/i.exec(rest);
  if (callx || regMatch) {
    // callx: the register travels in dst, as bpf_conformance encodes `call %r2`.
    return { slots: [insn(InsnClass.JMP | JmpOp.CALL | Source.X, ubpfReg(rest.replace(/^%?w/i, 'r')))] };
  }
  // Kernel verifier logs name helpers: `call bpf_map_lookup_elem#1`.
  const named = /^[A-Za-z_]\w*#(\d+)$/.exec(rest);
  if (named) rest = group(named, 1);
  const mode = /^(helper|local|runtime)\s+(.*)$/i.exec(rest);
  let kind = 'auto';
  if (mode) {
    kind = group(mode, 1).toLowerCase();
    rest = group(mode, 2).trim();
  }
  const btf = /^btf_id\((.*)\)$/i.exec(rest);
  if (btf) {
    kind = 'runtime';
    rest = group(btf, 1);
  }
  const call = InsnClass.JMP | JmpOp.CALL;
  if (kind === 'local' || (kind === 'auto' && /^pc[+-]/i.test(rest)) || (kind === 'auto' && IDENT_RE.test(rest))) {
    return withTarget(insn(call, 0, CallSrc.LOCAL), rest, 'imm');
  }
  const src = kind === 'runtime' ? CallSrc.BTF_ID : CallSrc.HELPER;
  return { slots: [insn(call, 0, src, 0, parseField(rest, 32, 'call immediate', true))] };
}

/**
 * The value of a 64-bit immediate load: a number, or a pseudo source written as in RFC 9669:
 * `map_by_fd(3)`, `map_val(map_by_fd(3)) + 16`, `var_addr(7)`, `code_addr(2)`,
 * `map_by_idx(0)`, `map_val(map_by_idx(0)) + 8`.
 */
function ldImm64Slots(dst: number, valueText: string): [Insn, Insn] {
  const v = valueText.trim();
  let src: number = LdImm64Src.IMM64;
  let lo: number;
  let hi = 0;
  const simple = /^(map_by_fd|var_addr|code_addr|map_by_idx)\s*\(\s*([^()]+?)\s*\)$/i.exec(v);
  const mapVal = /^map_val\s*\(\s*(map_by_fd|map_by_idx)\s*\(\s*([^()]+?)\s*\)\s*\)\s*(?:([+-])\s*(\S+))?$/i.exec(v);
  if (simple) {
    const kind = group(simple, 1).toLowerCase();
    src = entry<number>({ map_by_fd: LdImm64Src.MAP_BY_FD, var_addr: LdImm64Src.VAR_ADDR, code_addr: LdImm64Src.CODE_ADDR, map_by_idx: LdImm64Src.MAP_BY_IDX }, kind);
    lo = parseField(group(simple, 2), 32, kind, true);
  } else if (mapVal) {
    src = group(mapVal, 1).toLowerCase() === 'map_by_fd' ? LdImm64Src.MAP_VAL_BY_FD : LdImm64Src.MAP_VAL_BY_IDX;
    lo = parseField(group(mapVal, 2), 32, group(mapVal, 1).toLowerCase(), true);
    if (mapVal[4] !== undefined) hi = parseField(`${mapVal[3]}${mapVal[4]}`, 32, 'map value offset', true);
  } else {
    const value = parseImm64(v);
    lo = Number(BigInt.asIntN(32, value & 0xffffffffn));
    hi = Number(BigInt.asIntN(32, value >> 32n));
  }
  return [insn(LDDW_OPCODE, dst, src, 0, lo), insn(0, 0, 0, 0, hi)];
}

// ---------------------------------------------------------------------------------------
// uBPF syntax

const ALU_OPS: Record<string, number> = {
  add: AluOp.ADD,
  sub: AluOp.SUB,
  mul: AluOp.MUL,
  div: AluOp.DIV,
  sdiv: AluOp.DIV,
  or: AluOp.OR,
  and: AluOp.AND,
  lsh: AluOp.LSH,
  rsh: AluOp.RSH,
  mod: AluOp.MOD,
  smod: AluOp.MOD,
  xor: AluOp.XOR,
  mov: AluOp.MOV,
  arsh: AluOp.ARSH,
};

const JMP_OPS: Record<string, number> = {
  jeq: JmpOp.JEQ,
  jgt: JmpOp.JGT,
  jge: JmpOp.JGE,
  jset: JmpOp.JSET,
  jne: JmpOp.JNE,
  jsgt: JmpOp.JSGT,
  jsge: JmpOp.JSGE,
  jlt: JmpOp.JLT,
  jle: JmpOp.JLE,
  jslt: JmpOp.JSLT,
  jsle: JmpOp.JSLE,
};

const SIZE_SUFFIX: Record<string, number> = { b: Size.B, h: Size.H, w: Size.W, dw: Size.DW };

const ATOMIC_OPS: Record<string, number> = {
  add: AtomicOp.ADD,
  or: AtomicOp.OR,
  and: AtomicOp.AND,
  xor: AtomicOp.XOR,
  xchg: AtomicOp.XCHG,
  cmpxchg: AtomicOp.CMPXCHG,
};

function operandCount(mnemonic: string, operands: string[], count: number): void {
  if (operands.length !== count) {
    throw new LineError(`'${mnemonic}' takes ${count} operand${count === 1 ? '' : 's'}, found ${operands.length}`);
  }
}

/** `[%r1+4]`, `[%r10-8]`, `[%r1]` */
function ubpfMem(text: string): { reg: number; off: number } {
  const m = /^\[\s*(%?\w+)\s*(?:([+-])\s*(\w+))?\s*\]$/.exec(text.trim());
  if (!m) throw new LineError(`bad memory operand '${text.trim()}' (expected [%rN+off])`);
  const off = m[3] === undefined ? 0 : parseField(`${m[2]}${m[3]}`, 16, 'offset', true);
  return { reg: ubpfReg(group(m, 1)), off };
}

function parseUbpf(text: string): Emitted {
  const m = /^(\S+)\s*(.*)$/.exec(text);
  if (m === null) throw new LineError('empty instruction');
  const mnemonic = group(m, 1).toLowerCase();
  const rest = group(m, 2).trim();
  if (mnemonic === 'lock') return parseUbpfLock(rest);
  const operands = rest === '' ? [] : rest.split(',').map((o) => o.trim());
  if (operands.includes('')) throw new LineError('empty operand');
  let k: RegExpExecArray | null;

  if ((k = /^(add|sub|mul|div|sdiv|or|and|lsh|rsh|mod|smod|xor|mov|arsh)(32|64)?$/.exec(mnemonic))) {
    operandCount(mnemonic, operands, 2);
    const cls = k[2] === '32' ? InsnClass.ALU : InsnClass.ALU64;
    const off = k[1] === 'sdiv' || k[1] === 'smod' ? 1 : 0;
    const dst = ubpfReg(operand(operands, 0));
    const op = entry(ALU_OPS, group(k, 1));
    if (isUbpfRegOperand(operand(operands, 1))) {
      return { slots: [insn(cls | op | Source.X, dst, ubpfReg(operand(operands, 1)), off)] };
    }
    return { slots: [insn(cls | op | Source.K, dst, 0, off, parseField(operand(operands, 1), 32, 'immediate', true))] };
  }
  if ((k = /^neg(32|64)?$/.exec(mnemonic))) {
    operandCount(mnemonic, operands, 1);
    const cls = k[1] === '32' ? InsnClass.ALU : InsnClass.ALU64;
    return { slots: [insn(cls | AluOp.NEG, ubpfReg(operand(operands, 0)))] };
  }
  if ((k = /^movsx(8|16|32)(32|64)$/.exec(mnemonic))) {
    operandCount(mnemonic, operands, 2);
    const bits = Number(k[1]);
    const is64 = k[2] === '64';
    if (!is64 && bits === 32) throw new LineError(`unknown mnemonic '${mnemonic}' (movsx32 needs a 64-bit destination)`);
    const cls = is64 ? InsnClass.ALU64 : InsnClass.ALU;
    return { slots: [insn(cls | AluOp.MOV | Source.X, ubpfReg(operand(operands, 0)), ubpfReg(operand(operands, 1)), bits)] };
  }
  if ((k = /^(be|le|bswap|swap)(16|32|64)$/.exec(mnemonic))) {
    operandCount(mnemonic, operands, 1);
    const code =
      k[1] === 'be'
        ? InsnClass.ALU | AluOp.END | EndSource.TO_BE
        : k[1] === 'le'
          ? InsnClass.ALU | AluOp.END | EndSource.TO_LE
          : InsnClass.ALU64 | AluOp.END | EndSource.TO_LE;
    return { slots: [insn(code, ubpfReg(operand(operands, 0)), 0, 0, Number(k[2]))] };
  }
  if (mnemonic === 'ja') {
    operandCount(mnemonic, operands, 1);
    return withTarget(insn(InsnClass.JMP | JmpOp.JA), operand(operands, 0), 'off');
  }
  if (mnemonic === 'ja32' || mnemonic === 'gotol') {
    operandCount(mnemonic, operands, 1);
    return withTarget(insn(InsnClass.JMP32 | JmpOp.JA), operand(operands, 0), 'imm');
  }
  if ((k = /^(jeq|jgt|jge|jset|jne|jsgt|jsge|jlt|jle|jslt|jsle)(32)?$/.exec(mnemonic))) {
    operandCount(mnemonic, operands, 3);
    const cls = k[2] === '32' ? InsnClass.JMP32 : InsnClass.JMP;
    const op = entry(JMP_OPS, group(k, 1));
    const dst = ubpfReg(operand(operands, 0));
    const slot = isUbpfRegOperand(operand(operands, 1))
      ? insn(cls | op | Source.X, dst, ubpfReg(operand(operands, 1)))
      : insn(cls | op | Source.K, dst, 0, 0, parseField(operand(operands, 1), 32, 'immediate', true));
    return withTarget(slot, operand(operands, 2), 'off');
  }
  if (mnemonic === 'lddw') {
    operandCount(mnemonic, operands, 2);
    return { slots: ldImm64Slots(ubpfReg(operand(operands, 0)), operand(operands, 1)) };
  }
  if ((k = /^ldx(s?)(b|h|w|dw)$/.exec(mnemonic))) {
    operandCount(mnemonic, operands, 2);
    if (k[1] === 's' && k[2] === 'dw') throw new LineError(`unknown mnemonic '${mnemonic}'`);
    const mode = k[1] === 's' ? Mode.MEMSX : Mode.MEM;
    const { reg, off } = ubpfMem(operand(operands, 1));
    return { slots: [insn(InsnClass.LDX | mode | entry(SIZE_SUFFIX, group(k, 2)), ubpfReg(operand(operands, 0)), reg, off)] };
  }
  if ((k = /^st(x?)(b|h|w|dw)$/.exec(mnemonic))) {
    operandCount(mnemonic, operands, 2);
    const { reg, off } = ubpfMem(operand(operands, 0));
    const size = entry(SIZE_SUFFIX, group(k, 2));
    if (k[1] === 'x') return { slots: [insn(InsnClass.STX | Mode.MEM | size, reg, ubpfReg(operand(operands, 1)), off)] };
    return { slots: [insn(InsnClass.ST | Mode.MEM | size, reg, 0, off, parseField(operand(operands, 1), 32, 'immediate', true))] };
  }
  if ((k = /^ld(abs|ind)(b|h|w)$/.exec(mnemonic))) {
    // Legacy packet loads: encodable so that their rejection can be tested.
    const size = entry(SIZE_SUFFIX, group(k, 2));
    if (k[1] === 'abs') {
      operandCount(mnemonic, operands, 1);
      return { slots: [insn(InsnClass.LD | Mode.ABS | size, 0, 0, 0, parseField(operand(operands, 0), 32, 'immediate', true))] };
    }
    operandCount(mnemonic, operands, 2);
    return { slots: [insn(InsnClass.LD | Mode.IND | size, 0, ubpfReg(operand(operands, 0)), 0, parseField(operand(operands, 1), 32, 'immediate', true))] };
  }
  throw new LineError(`unknown mnemonic '${m[1]}'`);
}

/** `lock [fetch] OP[32] [%rD+off], %rS` */
function parseUbpfLock(rest: string): Emitted {
  const m = /^(fetch\s+)?(\w+)\s+(\[[^\]]*\])\s*,\s*(\S+)$/i.exec(rest);
  if (!m) throw new LineError('bad atomic instruction (expected: lock [fetch] OP [%rD+off], %rS)');
  const fetch = m[1] !== undefined;
  const opName = group(m, 2).toLowerCase();
  const k = /^(add|or|and|xor|xchg|cmpxchg)(32|64)?$/.exec(opName);
  if (!k) throw new LineError(`unknown atomic operation '${m[2]}'`);
  let imm = entry(ATOMIC_OPS, group(k, 1));
  if (fetch) {
    if (k[1] === 'xchg' || k[1] === 'cmpxchg') throw new LineError(`'${k[1]}' always fetches; drop 'fetch'`);
    imm |= AtomicOp.FETCH;
  }
  const size = k[2] === '32' ? Size.W : Size.DW;
  const { reg, off } = ubpfMem(group(m, 3));
  return { slots: [insn(InsnClass.STX | Mode.ATOMIC | size, reg, ubpfReg(group(m, 4)), off, imm)] };
}

// ---------------------------------------------------------------------------------------
// llvm-objdump / kernel syntax

const R = '([rw]\\d+)';
const NUM = '([+-]?\\s*(?:0x[0-9a-f]+|\\d+))';
const OPERAND = `([rw]\\d+|[+-]?\\s*(?:0x[0-9a-f]+|\\d+))`;
/** `(r1 + 4)`, `(r10 -8)`, `(r1)`: captures reg, sign, magnitude */
const MEM = '\\(\\s*(r\\d+)\\s*(?:([+-])\\s*(0x[0-9a-f]+|\\d+))?\\s*\\)';
/** `*(u32 *)`: captures signedness and bits */
const SIZE_CAST = '\\*\\s*\\(\\s*([us])(8|16|32|64)\\s*\\*\\s*\\)';

const LLVM_ALU_OPS: Record<string, { op: number; off: number }> = {
  '+': { op: AluOp.ADD, off: 0 },
  '-': { op: AluOp.SUB, off: 0 },
  '*': { op: AluOp.MUL, off: 0 },
  '/': { op: AluOp.DIV, off: 0 },
  's/': { op: AluOp.DIV, off: 1 },
  '%': { op: AluOp.MOD, off: 0 },
  's%': { op: AluOp.MOD, off: 1 },
  '|': { op: AluOp.OR, off: 0 },
  '&': { op: AluOp.AND, off: 0 },
  '<<': { op: AluOp.LSH, off: 0 },
  '>>': { op: AluOp.RSH, off: 0 },
  's>>': { op: AluOp.ARSH, off: 0 },
  '^': { op: AluOp.XOR, off: 0 },
};

const LLVM_JMP_OPS: Record<string, number> = {
  '==': JmpOp.JEQ,
  '!=': JmpOp.JNE,
  '>': JmpOp.JGT,
  '>=': JmpOp.JGE,
  '<': JmpOp.JLT,
  '<=': JmpOp.JLE,
  's>': JmpOp.JSGT,
  's>=': JmpOp.JSGE,
  's<': JmpOp.JSLT,
  's<=': JmpOp.JSLE,
  '&': JmpOp.JSET,
};

const LLVM_ATOMIC_OPS: Record<string, number> = { '+': AtomicOp.ADD, '|': AtomicOp.OR, '&': AtomicOp.AND, '^': AtomicOp.XOR };

const BITS_TO_SIZE: Record<string, number> = { '8': Size.B, '16': Size.H, '32': Size.W, '64': Size.DW };

function re(pattern: string): RegExp {
  return new RegExp(`^${pattern}$`, 'i');
}

const RE_GOTO = re('(goto|gotol)\\s+(\\S+)');
const RE_IF = re(`if\\s+${R}\\s*(==|!=|s>=|s<=|s>|s<|>=|<=|>|<|&)\\s*${OPERAND}\\s+goto\\s+(\\S+)`);
const RE_STORE = re(`${SIZE_CAST}\\s*${MEM}\\s*=\\s*${OPERAND}`);
const RE_LOCK = re(`lock\\s+${SIZE_CAST}\\s*${MEM}\\s*([+|&^])=\\s*${R}`);
const RE_LOAD = re(`${R}\\s*=\\s*${SIZE_CAST}\\s*${MEM}`);
const RE_LEGACY = re(`${R}\\s*=\\s*${SIZE_CAST}\\s*skb\\[\\s*(?:(r\\d+)\\s*(?:([+-])\\s*(0x[0-9a-f]+|\\d+))?|${NUM})\\s*\\]`);
const RE_MOVSX = re(`${R}\\s*=\\s*\\(\\s*s(8|16|32)\\s*\\)\\s*${R}`);
const RE_END = re(`${R}\\s*=\\s*(be|le|bswap)(16|32|64)\\s+${R}`);
const RE_NEG = re(`${R}\\s*=\\s*-\\s*${R}`);
const RE_FETCH = re(`${R}\\s*=\\s*atomic(?:64)?_fetch_(add|or|and|xor)\\s*\\(\\s*\\(\\s*u(32|64)\\s*\\*\\s*\\)\\s*${MEM}\\s*,\\s*${R}\\s*\\)`);
// LLVM spells xchg/cmpxchg `xchg_64(r1 + 0, r2)`, the kernel `atomic64_xchg((u64 *)(r1 +0), r2)`.
const ADDR = '\\(?\\s*(r\\d+)\\s*(?:([+-])\\s*(0x[0-9a-f]+|\\d+))?\\s*\\)?';
const RE_XCHG_LLVM = re(`${R}\\s*=\\s*(xchg_64|xchg32_32)\\s*\\(\\s*${ADDR}\\s*,\\s*${R}\\s*\\)`);
const RE_CMPXCHG_LLVM = re(`${R}\\s*=\\s*(cmpxchg_64|cmpxchg32_32)\\s*\\(\\s*${ADDR}\\s*,\\s*${R}\\s*,\\s*${R}\\s*\\)`);
const RE_XCHG_KERNEL = re(`${R}\\s*=\\s*(atomic64_xchg|atomic_xchg)\\s*\\(\\s*\\(\\s*u(?:32|64)\\s*\\*\\s*\\)\\s*${MEM}\\s*,\\s*${R}\\s*\\)`);
const RE_CMPXCHG_KERNEL = re(
  `${R}\\s*=\\s*(atomic64_cmpxchg|atomic_cmpxchg)\\s*\\(\\s*\\(\\s*u(?:32|64)\\s*\\*\\s*\\)\\s*${MEM}\\s*,\\s*${R}\\s*,\\s*${R}\\s*\\)`,
);
const RE_LDDW = re(`${R}\\s*=\\s*(.+?)\\s+ll`);
const RE_MOV = re(`${R}\\s*=\\s*${OPERAND}`);
const RE_ALU = re(`${R}\\s*(s>>|<<|>>|s/|s%|[-+*/%|&^])=\\s*${OPERAND}`);

function memOffset(sign: string | undefined, magnitude: string | undefined): number {
  if (magnitude === undefined) return 0;
  return parseField(`${sign}${magnitude}`, 16, 'offset', false);
}

function isRegText(text: string): boolean {
  return /^[rw]\d+$/i.test(text);
}

/** Register and immediate operands of ALU and jumps, with the width rule of the syntax. */
function aluOperand(dst: LlvmReg, text: string, what: string, rawImm: boolean): { reg?: number; imm?: number } {
  if (isRegText(text)) {
    const src = llvmReg(text);
    if (src.wide !== dst.wide) throw new LineError(`mixed register widths (${what} on ${dst.wide ? 'r' : 'w'} registers)`);
    return { reg: src.n };
  }
  // A 64-bit operation sign-extends its 32-bit immediate, so `r1 = 0xffffffff` cannot be
  // encoded (it would mean -1): only 32-bit operations take the unsigned range.
  try {
    return { imm: parseField(text.replace(/\s+/g, ''), 32, 'immediate', !dst.wide || rawImm) };
  } catch (err) {
    if (err instanceof LineError && dst.wide && what === 'move') {
      throw new LineError(`${err.message}; write \`r${dst.n} = ${text.trim()} ll\` for a 64-bit immediate`);
    }
    throw err;
  }
}

function parseLlvm(text: string, rawImm: boolean): Emitted {
  // llvm-objdump appends the target symbol to jumps: `goto +2 <LBB0_2>`.
  const t = text.replace(/\s+<[^<>\s]*>$/, '');
  let m: RegExpExecArray | null;

  if ((m = RE_GOTO.exec(t))) {
    if (group(m, 1).toLowerCase() === 'gotol') return withTarget(insn(InsnClass.JMP32 | JmpOp.JA), group(m, 2), 'imm');
    return withTarget(insn(InsnClass.JMP | JmpOp.JA), group(m, 2), 'off');
  }
  if ((m = RE_IF.exec(t))) {
    const dst = llvmReg(group(m, 1));
    const cls = dst.wide ? InsnClass.JMP : InsnClass.JMP32;
    const op = entry(LLVM_JMP_OPS, group(m, 2));
    const operand = aluOperand(dst, group(m, 3), 'comparison', rawImm);
    const slot =
      operand.reg !== undefined
        ? insn(cls | op | Source.X, dst.n, operand.reg)
        : insn(cls | op | Source.K, dst.n, 0, 0, operand.imm);
    return withTarget(slot, group(m, 4), 'off');
  }
  if ((m = RE_LOCK.exec(t))) {
    if (group(m, 1).toLowerCase() !== 'u' || (m[2] !== '32' && m[2] !== '64')) throw new LineError('atomic operations take u32 or u64');
    const size = entry(BITS_TO_SIZE, group(m, 2));
    return {
      slots: [insn(InsnClass.STX | Mode.ATOMIC | size, llvmReg(group(m, 3)).n, llvmReg(group(m, 7)).n, memOffset(m[4], m[5]), entry(LLVM_ATOMIC_OPS, group(m, 6)))],
    };
  }
  if ((m = RE_STORE.exec(t))) {
    if (group(m, 1).toLowerCase() !== 'u') throw new LineError('stores take u8, u16, u32 or u64');
    const size = entry(BITS_TO_SIZE, group(m, 2));
    const dst = llvmReg(group(m, 3)).n;
    const off = memOffset(m[4], m[5]);
    const value = group(m, 6);
    if (isRegText(value)) return { slots: [insn(InsnClass.STX | Mode.MEM | size, dst, llvmReg(value).n, off)] };
    // The immediate is sign-extended to the store width: a u64 store cannot take 0xffffffff.
    return { slots: [insn(InsnClass.ST | Mode.MEM | size, dst, 0, off, parseField(value.replace(/\s+/g, ''), 32, 'immediate', size !== Size.DW))] };
  }
  if ((m = RE_LOAD.exec(t))) {
    const signed = group(m, 2).toLowerCase() === 's';
    if (signed && m[3] === '64') throw new LineError('there is no sign-extending 64-bit load (use u64)');
    const mode = signed ? Mode.MEMSX : Mode.MEM;
    return { slots: [insn(InsnClass.LDX | mode | entry(BITS_TO_SIZE, group(m, 3)), llvmReg(group(m, 1)).n, llvmReg(group(m, 4)).n, memOffset(m[5], m[6]))] };
  }
  if ((m = RE_LEGACY.exec(t))) {
    if (llvmReg(group(m, 1)).n !== 0) throw new LineError('legacy packet loads always write r0');
    if (group(m, 2).toLowerCase() !== 'u' || m[3] === '64') throw new LineError('legacy packet loads take u8, u16 or u32');
    const size = entry(BITS_TO_SIZE, group(m, 3));
    if (m[4] !== undefined) {
      const imm = m[6] === undefined ? 0 : parseField(`${m[5]}${m[6]}`, 32, 'immediate', true);
      return { slots: [insn(InsnClass.LD | Mode.IND | size, 0, llvmReg(m[4]).n, 0, imm)] };
    }
    return { slots: [insn(InsnClass.LD | Mode.ABS | size, 0, 0, 0, parseField(group(m, 7).replace(/\s+/g, ''), 32, 'immediate', true))] };
  }
  if ((m = RE_MOVSX.exec(t))) {
    const dst = llvmReg(group(m, 1));
    const src = llvmReg(group(m, 3));
    if (dst.wide !== src.wide) throw new LineError('mixed register widths in sign-extending move');
    if (!dst.wide && m[2] === '32') throw new LineError('(s32) needs 64-bit registers');
    return { slots: [insn((dst.wide ? InsnClass.ALU64 : InsnClass.ALU) | AluOp.MOV | Source.X, dst.n, src.n, Number(m[2]))] };
  }
  if ((m = RE_END.exec(t))) {
    const dst = llvmReg(group(m, 1));
    if (llvmReg(group(m, 4)).n !== dst.n) throw new LineError('byte swap works in place: source and destination must be the same register');
    const kind = group(m, 2).toLowerCase();
    const code =
      kind === 'be'
        ? InsnClass.ALU | AluOp.END | EndSource.TO_BE
        : kind === 'le'
          ? InsnClass.ALU | AluOp.END | EndSource.TO_LE
          : InsnClass.ALU64 | AluOp.END | EndSource.TO_LE;
    return { slots: [insn(code, dst.n, 0, 0, Number(m[3]))] };
  }
  if ((m = RE_NEG.exec(t))) {
    const dst = llvmReg(group(m, 1));
    const src = llvmReg(group(m, 2));
    if (src.n !== dst.n || src.wide !== dst.wide) throw new LineError('negation works in place: write rN = -rN');
    return { slots: [insn((dst.wide ? InsnClass.ALU64 : InsnClass.ALU) | AluOp.NEG, dst.n)] };
  }
  if ((m = RE_FETCH.exec(t))) {
    const result = llvmReg(group(m, 1));
    const src = llvmReg(group(m, 7));
    if (result.n !== src.n) throw new LineError('atomic fetch returns the old value in its source register: both must be the same');
    const imm = entry(ATOMIC_OPS, group(m, 2).toLowerCase()) | AtomicOp.FETCH;
    const size = m[3] === '32' ? Size.W : Size.DW;
    return { slots: [insn(InsnClass.STX | Mode.ATOMIC | size, llvmReg(group(m, 4)).n, src.n, memOffset(m[5], m[6]), imm)] };
  }
  if ((m = RE_XCHG_LLVM.exec(t) ?? RE_XCHG_KERNEL.exec(t))) {
    const result = llvmReg(group(m, 1));
    const src = llvmReg(group(m, 6));
    if (result.n !== src.n) throw new LineError('xchg returns the old value in its source register: both must be the same');
    const size = /32|^atomic_xchg$/i.test(group(m, 2)) ? Size.W : Size.DW;
    return { slots: [insn(InsnClass.STX | Mode.ATOMIC | size, llvmReg(group(m, 3)).n, src.n, memOffset(m[4], m[5]), AtomicOp.XCHG)] };
  }
  if ((m = RE_CMPXCHG_LLVM.exec(t) ?? RE_CMPXCHG_KERNEL.exec(t))) {
    if (llvmReg(group(m, 1)).n !== 0 || llvmReg(group(m, 6)).n !== 0) throw new LineError('cmpxchg compares with and returns in r0: write r0 = cmpxchg_64(rD + off, r0, rS)');
    const size = /32|^atomic_cmpxchg$/i.test(group(m, 2)) ? Size.W : Size.DW;
    return { slots: [insn(InsnClass.STX | Mode.ATOMIC | size, llvmReg(group(m, 3)).n, llvmReg(group(m, 7)).n, memOffset(m[4], m[5]), AtomicOp.CMPXCHG)] };
  }
  if ((m = RE_LDDW.exec(t))) {
    const dst = llvmReg(group(m, 1));
    if (!dst.wide) throw new LineError('a 64-bit immediate load needs an r register');
    return { slots: ldImm64Slots(dst.n, group(m, 2).replace(/^([+-])\s+/, '$1')) };
  }
  if ((m = RE_MOV.exec(t))) {
    const dst = llvmReg(group(m, 1));
    const operand = aluOperand(dst, group(m, 2), 'move', rawImm);
    const cls = dst.wide ? InsnClass.ALU64 : InsnClass.ALU;
    if (operand.reg !== undefined) return { slots: [insn(cls | AluOp.MOV | Source.X, dst.n, operand.reg)] };
    return { slots: [insn(cls | AluOp.MOV | Source.K, dst.n, 0, 0, operand.imm)] };
  }
  if ((m = RE_ALU.exec(t))) {
    const dst = llvmReg(group(m, 1));
    const { op, off } = entry(LLVM_ALU_OPS, group(m, 2));
    const operand = aluOperand(dst, group(m, 3), 'operation', rawImm);
    const cls = dst.wide ? InsnClass.ALU64 : InsnClass.ALU;
    if (operand.reg !== undefined) return { slots: [insn(cls | op | Source.X, dst.n, operand.reg, off)] };
    return { slots: [insn(cls | op | Source.K, dst.n, 0, off, operand.imm)] };
  }
  // A recognisable shape with a bad register gets the more precise message.
  const badReg = /\b([rw]\d{2,})\b/i.exec(t);
  if (badReg && Number(group(badReg, 1).slice(1)) > 15) throw new LineError(`bad register '${badReg[1]}'`);
  throw new LineError('cannot parse instruction');
}
