// The Linux kernel as a differential-testing oracle.
//
// A generated program body (gen.ts: r1 = buffer, r2 = length) is wrapped as an
// XDP program: the prologue loads data/data_end from the xdp_md context, checks
// that the packet holds the whole buffer (the verifier demands it before any
// packet access), and sets r1/r2 the way our engines receive them. Each program
// is written as a minimal ELF object (a "xdp" section, a FUNC symbol, a GPL
// license), and one `bpftool -j batch` process loads them all into a private
// bpffs mount and runs each with BPF_PROG_TEST_RUN (`prog run ... data_in`).
// The kernel reports retval (the low 32 bits of r0: XDP's return type is u32)
// and data_out, the final packet, in which the generated epilogue stored r0,
// r2..r9 and the stack slots: so the comparison covers the full 64-bit state.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XrpError } from '../base/errors.ts';
import { AluOp, InsnClass, JmpOp, Mode, Size, Source, encode, insn, type Insn } from '../bpf/isa.ts';
import { at as itemAt, present } from '../base/checked.ts';

export class KernelOracleError extends XrpError {
  constructor(message: string) {
    super('KERNEL_ORACLE', message);
  }
}

/** Why the oracle cannot run here, or undefined when it can. */
export function kernelOracleUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `the kernel oracle needs Linux (this is ${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return 'the kernel oracle needs root (BPF_PROG_LOAD and mounting bpffs)';
  }
  const probe = spawnSync('bpftool', ['version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) return 'bpftool is not installed (apt-get install bpftool)';
  // Pinning needs a bpffs; containers without CAP_SYS_ADMIN cannot mount one.
  const dir = mkdtempSync(join(tmpdir(), 'xrp-oracle-probe-'));
  try {
    const mount = spawnSync('mount', ['-t', 'bpf', 'bpf', dir], { encoding: 'utf8' });
    if (mount.error !== undefined || mount.status !== 0) {
      return `cannot mount a bpffs (${(mount.stderr ?? String(mount.error)).trim() || 'mount failed'})`;
    }
    spawnSync('umount', [dir]);
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Prefix a body with the XDP prologue: r1 = data, r2 = bufferBytes, and an exit
 * with r0 = 0 if the packet is shorter (never taken: we always pass bufferBytes).
 * The body's jumps are relative, so prefixing keeps them valid.
 */
export const XDP_PROLOGUE_SLOTS = 9;

export function wrapForXdp(body: readonly Insn[], bufferBytes: number): Insn[] {
  const LDXW = InsnClass.LDX | Mode.MEM | Size.W;
  return [
    insn(LDXW, 2, 1, 0, 0), // r2 = ctx->data
    insn(LDXW, 3, 1, 4, 0), // r3 = ctx->data_end
    insn(InsnClass.ALU64 | Source.X | AluOp.MOV, 1, 2, 0, 0), // r1 = data
    insn(InsnClass.ALU64 | Source.X | AluOp.MOV, 4, 2, 0, 0),
    insn(InsnClass.ALU64 | Source.K | AluOp.ADD, 4, 0, 0, bufferBytes), // r4 = data + len
    insn(InsnClass.JMP | Source.X | JmpOp.JLE, 4, 3, 2, 0), // if r4 <= data_end: go on
    insn(InsnClass.ALU64 | Source.K | AluOp.MOV, 0, 0, 0, 0),
    insn(InsnClass.JMP | JmpOp.EXIT),
    insn(InsnClass.ALU64 | Source.K | AluOp.MOV, 2, 0, 0, bufferBytes), // r2 = length
    ...body,
  ];
}

/**
 * A minimal relocatable ELF64 (EM_BPF) holding one program in section
 * `sectionName`. With `functionStarts` (slot indices, ascending), the slots from
 * the first start on are local functions placed in `.text`, as clang lays out
 * static functions: each gets a LOCAL FUNC symbol, and every call from the entry
 * into them an R_BPF_64_32 relocation, which libbpf resolves (calls between
 * functions of `.text` stay pc-relative).
 */
export function buildBpfElf(
  insns: readonly Insn[],
  sectionName = 'xdp',
  functionName = 'prog',
  functionStarts: readonly number[] = [],
): Uint8Array {
  const entryEnd = functionStarts[0] ?? insns.length; // without subprograms the entry is the whole program
  const entry = insns.slice(0, entryEnd).map((i) => ({ ...i }));
  const text = insns.slice(entryEnd);
  const fnNames = functionStarts.map((_, k) => `fn${k}`);
  const relocations: Array<{ offsetBytes: number; symbol: number }> = [];
  entry.forEach((i, pc) => {
    if (i.code !== (InsnClass.JMP | JmpOp.CALL) || i.src !== 1) return;
    const targetSlot = pc + 1 + i.imm;
    const k = functionStarts.indexOf(targetSlot);
    if (k < 0) throw new KernelOracleError(`call at ${pc} targets slot ${targetSlot}, which starts no function`);
    relocations.push({ offsetBytes: pc * 8, symbol: 1 + k });
    entry[pc] = { ...i, imm: -1 }; // libbpf: target = symbol offset / 8 + imm + 1
  });
  const hasText = text.length > 0;
  const code = encode(entry);
  const textCode = encode(text);
  const license = new TextEncoder().encode('GPL\0');
  const relName = `.rel${sectionName}`;
  // One string table serves both section and symbol names.
  const names = ['', '.strtab', sectionName, 'license', '.symtab', '.text', relName, functionName, '_license', ...fnNames];
  const strtabParts: number[] = [];
  const nameOffset = new Map<string, number>();
  for (const n of names) {
    if (nameOffset.has(n)) continue;
    nameOffset.set(n, strtabParts.length);
    for (const ch of new TextEncoder().encode(n)) strtabParts.push(ch);
    strtabParts.push(0);
  }
  const strtab = Uint8Array.from(strtabParts);
  const SYM_BYTES = 24;
  const symbolCount = 1 + fnNames.length + 2;
  const symtab = new Uint8Array(SYM_BYTES * symbolCount);
  const sv = new DataView(symtab.buffer);
  const sym = (i: number, name: string, info: number, shndx: number, value: number, size: number): void => {
    const at = i * SYM_BYTES;
    sv.setUint32(at, present(nameOffset.get(name), `string-table offset of symbol "${name}"`), true);
    sv.setUint8(at + 4, info);
    sv.setUint16(at + 6, shndx, true);
    sv.setBigUint64(at + 8, BigInt(value), true);
    sv.setBigUint64(at + 16, BigInt(size), true);
  };
  const STB_LOCAL = 0;
  const STB_GLOBAL = 1;
  const STT_FUNC = 2;
  const STT_OBJECT = 1;
  const TEXT_SECTION = 5;
  functionStarts.forEach((start, k) => {
    const end = functionStarts[k + 1] ?? insns.length; // the last function runs to the end
    sym(1 + k, itemAt(fnNames, k, 'function name'), (STB_LOCAL << 4) | STT_FUNC, TEXT_SECTION, (start - entryEnd) * 8, (end - start) * 8);
  });
  const firstGlobal = 1 + fnNames.length;
  sym(firstGlobal, functionName, (STB_GLOBAL << 4) | STT_FUNC, 2, 0, code.length);
  sym(firstGlobal + 1, '_license', (STB_GLOBAL << 4) | STT_OBJECT, 3, 0, license.length);
  const REL_BYTES = 16;
  const rel = new Uint8Array(REL_BYTES * relocations.length);
  const rv = new DataView(rel.buffer);
  const R_BPF_64_32 = 10;
  relocations.forEach((r, i) => {
    rv.setBigUint64(i * REL_BYTES, BigInt(r.offsetBytes), true);
    rv.setBigUint64(i * REL_BYTES + 8, (BigInt(r.symbol) << 32n) | BigInt(R_BPF_64_32), true);
  });

  const HEADER = 64;
  const align8 = (n: number): number => (n + 7) & ~7;
  const codeAt = HEADER;
  const licenseAt = align8(codeAt + code.length);
  const strtabAt = align8(licenseAt + license.length);
  const symtabAt = align8(strtabAt + strtab.length);
  const textAt = align8(symtabAt + symtab.length);
  const relAt = align8(textAt + textCode.length);
  const shAt = align8(relAt + rel.length);
  const SECTIONS = hasText ? 7 : 5;
  const SH_BYTES = 64;
  const out = new Uint8Array(shAt + SECTIONS * SH_BYTES);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0], 0); // ELF64, little-endian, version 1
  v.setUint16(16, 1, true); // ET_REL
  v.setUint16(18, 247, true); // EM_BPF
  v.setUint32(20, 1, true);
  v.setBigUint64(40, BigInt(shAt), true); // e_shoff
  v.setUint16(52, HEADER, true);
  v.setUint16(58, SH_BYTES, true);
  v.setUint16(60, SECTIONS, true);
  v.setUint16(62, 1, true); // e_shstrndx
  out.set(code, codeAt);
  out.set(license, licenseAt);
  out.set(strtab, strtabAt);
  out.set(symtab, symtabAt);
  out.set(textCode, textAt);
  out.set(rel, relAt);
  const section = (
    i: number,
    name: string,
    type: number,
    flags: number,
    offset: number,
    size: number,
    link: number,
    info: number,
    align: number,
    entsize: number,
  ): void => {
    const at = shAt + i * SH_BYTES;
    v.setUint32(at, present(nameOffset.get(name), `string-table offset of section "${name}"`), true);
    v.setUint32(at + 4, type, true);
    v.setBigUint64(at + 8, BigInt(flags), true);
    v.setBigUint64(at + 24, BigInt(offset), true);
    v.setBigUint64(at + 32, BigInt(size), true);
    v.setUint32(at + 40, link, true);
    v.setUint32(at + 44, info, true);
    v.setBigUint64(at + 48, BigInt(align), true);
    v.setBigUint64(at + 56, BigInt(entsize), true);
  };
  const SHT_PROGBITS = 1;
  const SHT_SYMTAB = 2;
  const SHT_STRTAB = 3;
  const SHT_REL = 9;
  const SHF_WRITE = 1;
  const SHF_ALLOC = 2;
  const SHF_EXECINSTR = 4;
  section(1, '.strtab', SHT_STRTAB, 0, strtabAt, strtab.length, 0, 0, 1, 0);
  section(2, sectionName, SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, codeAt, code.length, 0, 0, 8, 0);
  section(3, 'license', SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, licenseAt, license.length, 0, 0, 1, 0);
  section(4, '.symtab', SHT_SYMTAB, 0, symtabAt, symtab.length, 1, firstGlobal, 8, SYM_BYTES);
  if (hasText) {
    section(TEXT_SECTION, '.text', SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, textAt, textCode.length, 0, 0, 8, 0);
    section(6, relName, SHT_REL, 0, relAt, rel.length, 4, 2, 8, REL_BYTES);
  }
  return out;
}

export interface KernelCase {
  /** body in the gen.ts convention (r1 = buffer, r2 = length) */
  insns: readonly Insn[];
  input: Uint8Array;
  /** where local functions start in `insns` (gen.ts `functionStarts`) */
  functionStarts?: readonly number[];
}

export type KernelOutcome =
  | { ok: true; retval: number; dataOut: Uint8Array }
  | { ok: false; error: string };

/**
 * Load and run every case in the kernel with one bpftool process. Returns one
 * outcome per case (a verifier rejection is an outcome, not an exception).
 */
export function runInKernel(cases: readonly KernelCase[]): KernelOutcome[] {
  const why = kernelOracleUnavailable();
  if (why !== undefined) throw new KernelOracleError(why);
  const dir = mkdtempSync(join(tmpdir(), 'xrp-oracle-'));
  const pinDir = join(dir, 'bpffs');
  mkdirSync(pinDir);
  let mounted = false;
  try {
    const mount = spawnSync('mount', ['-t', 'bpf', 'bpf', pinDir], { encoding: 'utf8' });
    if (mount.error !== undefined || mount.status !== 0) {
      throw new KernelOracleError(`cannot mount a bpffs at ${pinDir}: ${(mount.stderr ?? String(mount.error)).trim()}`);
    }
    mounted = true;
    const lines: string[] = [];
    cases.forEach((c, i) => {
      const obj = join(dir, `p${i}.o`);
      const shifted = (c.functionStarts ?? []).map((start) => start + XDP_PROLOGUE_SLOTS);
      writeFileSync(obj, buildBpfElf(wrapForXdp(c.insns, c.input.length), 'xdp', 'prog', shifted));
      writeFileSync(join(dir, `in${i}`), c.input);
      lines.push(`prog load ${obj} ${join(pinDir, `p${i}`)} type xdp`);
      lines.push(`prog run pinned ${join(pinDir, `p${i}`)} data_in ${join(dir, `in${i}`)} data_out ${join(dir, `out${i}`)}`);
    });
    // Run case by case in chunks: bpftool's batch mode stops at the first failing
    // command, so a rejected program must not hide the rest.
    const outcomes: KernelOutcome[] = [];
    let i = 0;
    while (i < cases.length) {
      const batchFile = join(dir, `batch${i}`);
      writeFileSync(batchFile, lines.slice(2 * i).join('\n') + '\n');
      const run = spawnSync('bpftool', ['-j', 'batch', 'file', batchFile], { encoding: 'utf8', maxBuffer: 64 << 20 });
      const results = parseRunResults(run.stdout);
      for (const r of results) {
        if (i >= cases.length) break;
        outcomes.push({ ok: true, retval: r, dataOut: new Uint8Array(readFileSync(join(dir, `out${i}`))) });
        rmSync(join(pinDir, `p${i}`), { force: true });
        i++;
      }
      if (run.status !== 0 && i < cases.length) {
        // case i failed (load or run): record its error and continue after it
        outcomes.push({ ok: false, error: lastError(run.stdout, run.stderr) });
        rmSync(join(pinDir, `p${i}`), { force: true });
        i++;
      } else if (run.status === 0 && i < cases.length && results.length === 0) {
        throw new KernelOracleError(`bpftool batch produced no results: ${run.stderr.slice(0, 500)}`);
      }
    }
    return outcomes;
  } finally {
    if (mounted) spawnSync('umount', [pinDir]);
    rmSync(dir, { recursive: true, force: true });
  }
}

function parseRunResults(stdout: string): number[] {
  const retvals: number[] = [];
  for (const m of stdout.matchAll(/"retval"\s*:\s*(\d+)/g)) retvals.push(Number(m[1]));
  return retvals;
}

function lastError(stdout: string, stderr: string): string {
  const m = [...stdout.matchAll(/"error"\s*:\s*"((?:[^"\\]|\\.)*)"/g)].pop();
  const text = (m ? JSON.parse(`"${m[1]}"`) : '') + '\n' + stderr;
  return text.trim().split('\n').slice(-25).join('\n');
}
