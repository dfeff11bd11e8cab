// The text of `xrp prog dump`: sections, programs, maps, relocations, symbols
// and the disassembly of each program as loaded (subprograms appended, pseudo
// loads annotated with the map or global they refer to).

import type { AppliedRelocation, BpfObject, ObjectProgram } from './elf.ts';
import { MapType } from './elf.ts';
import { isLdImm64, type Insn } from '../isa.ts';

/** Disassembles the slot at `pc` (the second slot of an lddw is never asked for). */
export type InsnFormatter = (insns: readonly Insn[], pc: number) => string;

export interface DumpOptions {
  /** only this program's disassembly (function or section name); all by default */
  programName?: string;
  /** omit the disassembly */
  disassembly?: boolean;
}

const MAP_TYPE_NAMES: Record<number, string> = { [MapType.HASH]: 'hash', [MapType.ARRAY]: 'array' };

function table(rows: string[][], indent = '  '): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? cell.length))).join('  ').trimEnd());
}

function annotation(object: BpfObject, r: AppliedRelocation): string {
  switch (r.kind) {
    case 'map':
      return `map "${object.maps[r.target]?.name ?? r.target}"`;
    case 'map_value': {
      const map = object.maps[r.target]?.name ?? String(r.target);
      const symbol = r.symbolName === map ? '' : ` (${r.symbolName})`;
      return `${map} + ${r.valueOffsetBytes ?? 0}${symbol}`;
    }
    case 'call':
      return `call ${r.symbolName}`;
  }
}

function disassembly(object: BpfObject, program: ObjectProgram, format: InsnFormatter): string[] {
  const lines: string[] = [`disassembly of ${program.name} (section ${program.sectionName}, ${program.insns.length} instructions):`];
  const starts = new Map(program.functions.map((f) => [f.startInsn, f]));
  const notes = new Map(program.relocations.map((r) => [r.insnIndex, annotation(object, r)]));
  const width = String(program.insns.length).length;
  let lddwTail = false; // the second slot of an lddw prints with its first
  for (const [pc, insn] of program.insns.entries()) {
    if (lddwTail) {
      lddwTail = false;
      continue;
    }
    const fn = starts.get(pc);
    if (fn !== undefined) lines.push(`${fn.name}${fn.sectionName === program.sectionName ? '' : ` (from ${fn.sectionName})`}:`);
    const note = notes.get(pc);
    lines.push(`  ${String(pc).padStart(width)}: ${format(program.insns, pc)}${note === undefined ? '' : `  ; ${note}`}`);
    lddwTail = isLdImm64(insn);
  }
  return lines;
}

export function formatDump(object: BpfObject, format: InsnFormatter, options: DumpOptions = {}): string {
  const out: string[] = [`file: ${object.fileName}`, `license: ${object.license === '' ? '(none)' : JSON.stringify(object.license)}`, ''];

  out.push(`sections (${object.sections.length - 1}):`);
  out.push(
    ...table([
      ['#', 'name', 'type', 'flags', 'size'],
      ...object.sections.slice(1).map((s) => [String(s.index), s.name, s.type, s.flags === '' ? '-' : s.flags, `${s.sizeBytes} bytes`]),
    ]),
  );

  out.push('', `programs (${object.programs.length}):`);
  out.push(
    ...table([
      ['name', 'section', 'insns', 'subprograms', 'license'],
      ...object.programs.map((p) => [
        p.name,
        p.sectionName,
        String(p.insns.length),
        p.functions.length > 1 ? p.functions.slice(1).map((f) => f.name).join(',') : '-',
        p.license === '' ? '-' : p.license,
      ]),
    ]),
  );

  out.push('', `maps (${object.maps.length}):`);
  if (object.maps.length > 0) {
    out.push(
      ...table([
        ['idx', 'name', 'type', 'key', 'value', 'max', 'flags', 'origin'],
        ...object.maps.map((m) => [
          String(m.index),
          m.name,
          MAP_TYPE_NAMES[m.type] ?? `type ${m.type}`,
          String(m.keySizeBytes),
          String(m.valueSizeBytes),
          String(m.maxEntries),
          `0x${m.flags.toString(16)}`,
          `${m.origin}${m.readOnly ? ', read-only' : ''}`,
        ]),
      ]),
    );
  }

  out.push('', `relocations (${object.relocations.length}):`);
  if (object.relocations.length > 0) {
    out.push(
      ...table([
        ['section', 'offset', 'insn', 'type', 'symbol'],
        ...object.relocations.map((r) => [r.sectionName, `0x${r.offsetBytes.toString(16)}`, String(r.offsetBytes / 8), r.type, r.symbolName]),
      ]),
    );
  }

  const symbols = object.symbols.filter((s) => s.type !== 'SECTION' && s.type !== 'FILE' && s.name !== '');
  out.push('', `symbols (${symbols.length}):`);
  out.push(
    ...table([
      ['name', 'type', 'bind', 'section', 'value', 'size'],
      ...symbols.map((s) => [s.name, s.type, s.bind, s.sectionName, `0x${s.value.toString(16)}`, String(s.sizeBytes)]),
    ]),
  );

  if (options.disassembly !== false) {
    const programs = options.programName === undefined ? object.programs : object.programs.filter((p) => p.name === options.programName || p.sectionName === options.programName);
    for (const program of programs) out.push('', ...disassembly(object, program, format));
  }
  return out.join('\n');
}
