// The raw structures of an ELF64 little-endian relocatable object: header,
// section table, symbol table, REL relocations. Everything read from the file
// is bounds-checked here, so the layers above work on validated tables and
// every defect becomes an ElfError naming the file, section and offset.

import { XrpError } from '../../base/errors.ts';

export class ElfError extends XrpError {
  constructor(
    readonly fileName: string,
    message: string,
    /** the section at fault, when there is one */
    readonly sectionName?: string,
    /** byte offset in the file or section, when there is one */
    readonly offsetBytes?: number,
  ) {
    const where = sectionName !== undefined ? ` section "${sectionName}"` : '';
    const at = offsetBytes !== undefined ? ` at offset ${offsetBytes}` : '';
    super('ELF', `${fileName}:${where}${at}: ${message}`);
  }
}

export const SectionType = {
  NULL: 0,
  PROGBITS: 1,
  SYMTAB: 2,
  STRTAB: 3,
  RELA: 4,
  NOBITS: 8,
  REL: 9,
} as const;

export const SectionFlag = { WRITE: 0x1, ALLOC: 0x2, EXECINSTR: 0x4 } as const;

export const SymbolType = { NOTYPE: 0, OBJECT: 1, FUNC: 2, SECTION: 3, FILE: 4 } as const;

/** Special section indices of symbols. */
export const SHN_UNDEF = 0;
export const SHN_LORESERVE = 0xff00;
export const SHN_ABS = 0xfff1;
export const SHN_COMMON = 0xfff2;

/** BPF relocation types (llvm's BPFELFRelocs). */
export const RelocType = {
  NONE: 0,
  BPF_64_64: 1,
  BPF_64_ABS64: 2,
  BPF_64_ABS32: 3,
  BPF_64_NODYLD32: 4,
  BPF_64_32: 10,
} as const;

const RELOC_TYPE_NAMES = new Map<number, string>(Object.entries(RelocType).map(([name, value]) => [value, `R_${name}`]));

export function relocTypeName(type: number): string {
  return RELOC_TYPE_NAMES.get(type) ?? `type ${type}`;
}

const EM_BPF = 247;
const ET_REL = 1;
const ELF_HEADER_BYTES = 64;
const SECTION_HEADER_BYTES = 64;
const SYMBOL_BYTES = 24;
const REL_BYTES = 16;
/** Bounds that keep a corrupt file from making us allocate or loop without end. */
const SECTION_COUNT_MAX = 65_280;
const NAME_BYTES_MAX = 4096;

export interface ElfSection {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  readonly flags: number;
  readonly offsetBytes: number;
  readonly sizeBytes: number;
  readonly link: number;
  readonly info: number;
  readonly alignBytes: number;
  readonly entrySizeBytes: number;
  /** the section's bytes (empty for NOBITS, whose size is still sizeBytes) */
  readonly data: Uint8Array;
}

export interface ElfSymbol {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  readonly bind: number;
  readonly sectionIndex: number;
  readonly value: number;
  readonly sizeBytes: number;
}

export interface ElfRelocation {
  /** index of the REL section holding this entry */
  readonly relSectionIndex: number;
  /** index of the entry within its REL section */
  readonly entryIndex: number;
  /** byte offset within the target section */
  readonly offsetBytes: number;
  readonly type: number;
  readonly symbolIndex: number;
}

export interface ElfFile {
  readonly fileName: string;
  readonly sections: readonly ElfSection[];
  /** the symbol table (index 0 is the null symbol); empty when the object has none */
  readonly symbols: readonly ElfSymbol[];
  /** REL entries by the index of the section they apply to */
  readonly relocations: ReadonlyMap<number, readonly ElfRelocation[]>;
}

/** The high word of a u64 at or below this keeps the value a safe integer (2^53 - 1). */
const U64_HIGH_SAFE_MAX = 0x1f_ffff;

/**
 * Read a u64 field that must fit a safe integer (offsets and sizes). Two u32
 * reads rather than a BigInt: this runs for every header, symbol and
 * relocation of a fresh process's first object, in V8's interpreter.
 */
function u64(view: DataView, at: number, fail: (message: string) => never, what: string): number {
  const high = view.getUint32(at + 4, true);
  if (high > U64_HIGH_SAFE_MAX) fail(`${what} 0x${view.getBigUint64(at, true).toString(16)} is too large`);
  return high * 0x1_0000_0000 + view.getUint32(at, true);
}

/** A NUL-terminated name from a string table. */
function stringAt(table: Uint8Array, offset: number, fail: (message: string) => never, what: string): string {
  if (offset >= table.length) fail(`${what}: string offset ${offset} is outside the string table (${table.length} bytes)`);
  const limit = Math.min(table.length, offset + NAME_BYTES_MAX);
  let end = offset;
  while (end < limit && table[end] !== 0) end++;
  if (end === limit) fail(`${what}: string at offset ${offset} is not NUL-terminated`);
  let name = '';
  for (let i = offset; i < end; i++) name += String.fromCharCode(table[i] ?? 0);
  return name;
}

export function readElf(bytes: Uint8Array, fileName: string): ElfFile {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const failAt = (message: string, offsetBytes?: number, sectionName?: string): never => {
    throw new ElfError(fileName, message, sectionName, offsetBytes);
  };
  const fail = (message: string): never => failAt(message);

  // Header.
  if (bytes.length < ELF_HEADER_BYTES) failAt(`truncated ELF header: ${bytes.length} of ${ELF_HEADER_BYTES} bytes`, 0);
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) failAt('not an ELF file (bad magic)', 0);
  if (bytes[4] !== 2) failAt(`not a 64-bit ELF object (class ${bytes[4]})`, 4);
  if (bytes[5] !== 1) failAt(`not a little-endian ELF object (data encoding ${bytes[5]})`, 5);
  const elfType = view.getUint16(16, true);
  if (elfType !== ET_REL) failAt(`not a relocatable object (e_type ${elfType}); compile with clang -c`, 16);
  const machine = view.getUint16(18, true);
  if (machine !== EM_BPF) failAt(`not an eBPF object (e_machine ${machine}, expected ${EM_BPF})`, 18);
  const shoff = u64(view, 0x28, fail, 'section table offset');
  const shentsize = view.getUint16(0x3a, true);
  const shnum = view.getUint16(0x3c, true);
  const shstrndx = view.getUint16(0x3e, true);
  if (shnum === 0) failAt('no section table (or extended section numbering, which is not supported)', 0x3c);
  if (shnum > SECTION_COUNT_MAX) failAt(`too many sections: ${shnum}`, 0x3c);
  if (shentsize !== SECTION_HEADER_BYTES) failAt(`section header size ${shentsize}, expected ${SECTION_HEADER_BYTES}`, 0x3a);
  if (shoff + shnum * SECTION_HEADER_BYTES > bytes.length) {
    failAt(`section table (${shnum} headers at offset ${shoff}) extends past the end of the file (${bytes.length} bytes)`, shoff);
  }
  if (shstrndx >= shnum) failAt(`section-name table index ${shstrndx} is out of range (${shnum} sections)`, 0x3e);

  // Section headers, then names (the name table is itself a section).
  interface RawSection extends Omit<ElfSection, 'name'> {
    nameOffset: number;
  }
  const raw: RawSection[] = [];
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * SECTION_HEADER_BYTES;
    const type = view.getUint32(at + 4, true);
    const flags = u64(view, at + 8, fail, `section #${i} flags`);
    const offsetBytes = u64(view, at + 24, fail, `section #${i} offset`);
    const sizeBytes = u64(view, at + 32, fail, `section #${i} size`);
    const hasBytes = type !== SectionType.NOBITS && type !== SectionType.NULL;
    if (hasBytes && offsetBytes + sizeBytes > bytes.length) {
      failAt(`section #${i} (offset ${offsetBytes}, ${sizeBytes} bytes) extends past the end of the file (${bytes.length} bytes)`, at);
    }
    raw.push({
      index: i,
      nameOffset: view.getUint32(at, true),
      type,
      flags,
      offsetBytes,
      sizeBytes,
      link: view.getUint32(at + 40, true),
      info: view.getUint32(at + 44, true),
      alignBytes: u64(view, at + 48, fail, `section #${i} alignment`),
      entrySizeBytes: u64(view, at + 56, fail, `section #${i} entry size`),
      data: hasBytes ? bytes.subarray(offsetBytes, offsetBytes + sizeBytes) : new Uint8Array(0),
    });
  }
  const nameTable = raw[shstrndx];
  if (nameTable === undefined) return failAt(`section-name table index ${shstrndx} is out of range (${raw.length} sections)`, 0x3e);
  if (nameTable.type !== SectionType.STRTAB) failAt(`section-name table #${shstrndx} is not a string table (type ${nameTable.type})`);
  const sections: ElfSection[] = raw.map(({ nameOffset, ...rest }) => ({
    ...rest,
    name: rest.type === SectionType.NULL && nameOffset === 0 ? '' : stringAt(nameTable.data, nameOffset, fail, `name of section #${rest.index}`),
  }));

  // Symbols: at most one symbol table in a relocatable object.
  const symtabs = sections.filter((s) => s.type === SectionType.SYMTAB);
  if (symtabs.length > 1) fail(`${symtabs.length} symbol tables; expected at most one`);
  const symbols: ElfSymbol[] = [];
  const symtab = symtabs[0];
  if (symtab !== undefined) {
    if (symtab.sizeBytes % SYMBOL_BYTES !== 0) {
      failAt(`size ${symtab.sizeBytes} is not a multiple of the symbol size ${SYMBOL_BYTES}`, undefined, symtab.name);
    }
    const linked = sections[symtab.link];
    if (linked === undefined || linked.type !== SectionType.STRTAB) {
      return failAt(`linked string table #${symtab.link} is missing or not a string table`, undefined, symtab.name);
    }
    const strtab = linked.data;
    const symView = new DataView(symtab.data.buffer, symtab.data.byteOffset, symtab.data.byteLength);
    const count = symtab.sizeBytes / SYMBOL_BYTES;
    // one failure function for the table (not one closure per symbol): it names the symbol being read
    let i = 0;
    const symFail = (message: string): never => failAt(`symbol #${i}: ${message}`, i * SYMBOL_BYTES, symtab.name);
    for (; i < count; i++) {
      const at = i * SYMBOL_BYTES;
      const info = symView.getUint8(at + 4);
      const sectionIndex = symView.getUint16(at + 6, true);
      if (sectionIndex !== SHN_UNDEF && sectionIndex < SHN_LORESERVE && sectionIndex >= sections.length) {
        symFail(`section index ${sectionIndex} is out of range (${sections.length} sections)`);
      }
      symbols.push({
        index: i,
        name: stringAt(strtab, symView.getUint32(at, true), symFail, 'name'),
        type: info & 0xf,
        bind: info >> 4,
        sectionIndex,
        value: u64(symView, at + 8, symFail, 'value'),
        sizeBytes: u64(symView, at + 16, symFail, 'size'),
      });
    }
  }

  // REL sections (BPF objects use REL, not RELA).
  const relocations = new Map<number, ElfRelocation[]>();
  for (const section of sections) {
    if (section.type === SectionType.RELA) failAt('RELA relocations are not supported for eBPF objects', undefined, section.name);
    if (section.type !== SectionType.REL) continue;
    if (section.sizeBytes % REL_BYTES !== 0) {
      failAt(`size ${section.sizeBytes} is not a multiple of the relocation size ${REL_BYTES}`, undefined, section.name);
    }
    if (section.info === 0 || section.info >= sections.length) {
      failAt(`applies to section #${section.info}, which does not exist`, undefined, section.name);
    }
    const relView = new DataView(section.data.buffer, section.data.byteOffset, section.data.byteLength);
    const list: ElfRelocation[] = relocations.get(section.info) ?? [];
    let i = 0;
    const entryFail = (message: string): never => failAt(`relocation #${i}: ${message}`, i * REL_BYTES, section.name);
    for (; i < section.sizeBytes / REL_BYTES; i++) {
      const at = i * REL_BYTES;
      const infoHigh = relView.getUint32(at + 12, true);
      list.push({
        relSectionIndex: section.index,
        entryIndex: i,
        offsetBytes: u64(relView, at, entryFail, 'offset'),
        type: relView.getUint32(at + 8, true),
        symbolIndex: infoHigh,
      });
    }
    relocations.set(section.info, list);
  }

  return { fileName, sections, symbols, relocations };
}
