// The ELF loader: turns an object from `clang -O2 -g -target bpf -c` into
// programs, map specifications and global data, as libbpf does.
//
// - Programs are the functions of executable sections other than `.text`,
//   named by their symbol (the section name is kept: "xrp", "socket", ...).
// - `.text` functions reached through bpf-to-bpf calls (R_BPF_64_32, or an
//   unrelocated local call inside one section) are appended after the entry
//   program, and each call's pc-relative imm is fixed to the new position.
// - `lddw` with an R_BPF_64_64 relocation becomes a pseudo load, as in the
//   kernel ABI: a map (`.maps` BTF definitions or the legacy `maps` section)
//   gives src = MAP_BY_IDX with imm = map index; a global in `.rodata*`,
//   `.data*` or `.bss*` gives src = MAP_VAL_BY_IDX with imm = the index of the
//   section's array map and the second slot's imm = offset within the value.
//   src/bpf/link.ts later resolves these to plain addresses for one run, and
//   the verifier types them through `BpfObject.maps`.
//
// Every malformed input ends in an ElfError that names the file, the section
// and the offset or relocation at fault.

import { parseBtfMapDefs, type BtfMapDef } from './btf.ts';
import {
  ElfError,
  readElf,
  relocTypeName,
  RelocType,
  SectionFlag,
  SectionType,
  SHN_ABS,
  SHN_COMMON,
  SHN_UNDEF,
  SymbolType,
  type ElfFile,
  type ElfRelocation,
  type ElfSection,
  type ElfSymbol,
} from './reader.ts';
import { decode, INSN_BYTES, isLdImm64, isLocalCall, LdImm64Src, type Insn, type Program } from '../isa.ts';

export { ElfError } from './reader.ts';

/** Map types, as in Linux's enum bpf_map_type (only those the runtime implements are named). */
export const MapType = { HASH: 1, ARRAY: 2 } as const;

/** Legacy `struct bpf_map_def` is five u32 fields; at least type..max_entries must be present. */
const LEGACY_MAP_DEF_BYTES_MIN = 16;
/** Global data sections become one array map value each; bound them (libbpf is bounded by the kernel's value size). */
export const DATA_SECTION_BYTES_MAX = 1 << 20;
/** The kernel's limit of instructions in one program (BPF_COMPLEXITY_LIMIT_INSNS). */
export const PROGRAM_INSNS_MAX = 1_000_000;

export type MapOrigin = 'btf' | 'legacy' | 'data';

/** A map as declared by the object; instantiated per run by src/bpf/link.ts. */
export interface MapSpec {
  /** position in BpfObject.maps: the imm of MAP_BY_IDX / MAP_VAL_BY_IDX loads */
  readonly index: number;
  /** variable name, or the section name for global data (".rodata", ".bss", ...) */
  readonly name: string;
  /** enum bpf_map_type */
  readonly type: number;
  readonly keySizeBytes: number;
  readonly valueSizeBytes: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly origin: MapOrigin;
  readonly sectionName: string;
  /** the value's initial bytes (global data maps only: .data/.rodata contents, zeros for .bss) */
  readonly initialValue?: Uint8Array;
  /** programs may not write it (.rodata, like libbpf's frozen BPF_F_RDONLY_PROG map) */
  readonly readOnly: boolean;
}

/** A function placed in a loaded program. */
export interface ProgramFunction {
  readonly name: string;
  readonly sectionName: string;
  /** first slot in ObjectProgram.insns */
  readonly startInsn: number;
  readonly insnCount: number;
}

/** A relocation as applied to a loaded program (for `prog dump` and tools). */
export interface AppliedRelocation {
  /** slot in ObjectProgram.insns */
  readonly insnIndex: number;
  readonly kind: 'map' | 'map_value' | 'call';
  readonly symbolName: string;
  /** map index for map/map_value, target slot for call */
  readonly target: number;
  /** offset within the map value (map_value only) */
  readonly valueOffsetBytes?: number;
}

/** A loaded program with its pseudo loads still unresolved (what the verifier checks). */
export interface ObjectProgram extends Program {
  readonly sectionName: string;
  readonly license: string;
  /** the entry function first, then the appended subprograms */
  readonly functions: readonly ProgramFunction[];
  readonly relocations: readonly AppliedRelocation[];
}

export interface SectionSummary {
  readonly index: number;
  readonly name: string;
  readonly type: string;
  readonly sizeBytes: number;
  readonly flags: string;
}

export interface SymbolSummary {
  readonly name: string;
  readonly type: string;
  readonly bind: string;
  readonly sectionName: string;
  readonly value: number;
  readonly sizeBytes: number;
}

/** A relocation of a code section as found in the file (for `prog dump`). */
export interface RelocationSummary {
  readonly sectionName: string;
  readonly offsetBytes: number;
  readonly type: string;
  readonly symbolName: string;
}

export interface BpfObject {
  readonly fileName: string;
  readonly license: string;
  readonly programs: readonly ObjectProgram[];
  readonly maps: readonly MapSpec[];
  readonly sections: readonly SectionSummary[];
  readonly symbols: readonly SymbolSummary[];
  readonly relocations: readonly RelocationSummary[];
}

/** A function of an executable section, before placement. */
interface CodeFunction {
  readonly name: string;
  readonly section: ElfSection;
  /** slot in its section */
  readonly startInsn: number;
  readonly insnCount: number;
}

const DATA_SECTION = /^\.(rodata|data|bss)(\..*)?$/;
const isCodeSection = (s: ElfSection): boolean => s.type === SectionType.PROGBITS && (s.flags & SectionFlag.EXECINSTR) !== 0;
const SYMBOL_TYPE_NAMES = ['NOTYPE', 'OBJECT', 'FUNC', 'SECTION', 'FILE'];
const SYMBOL_BIND_NAMES = ['LOCAL', 'GLOBAL', 'WEAK'];
const SECTION_TYPE_NAMES: Record<number, string> = { ...Object.fromEntries(Object.entries(SectionType).map(([k, v]) => [v, k])), 0x6fff4c03: 'LLVM_ADDRSIG' };

export function loadElf(bytes: Uint8Array, fileName: string): BpfObject {
  const elf = readElf(bytes, fileName);
  return new ObjectLoader(elf).load();
}

class ObjectLoader {
  private readonly fileName: string;
  private readonly maps: MapSpec[] = [];
  /** map index by "sectionIndex:offset" of its symbol (btf/legacy) */
  private readonly mapBySymbol = new Map<string, number>();
  /** map index by data section index */
  private readonly dataMapBySection = new Map<number, number>();
  /** decoded code by section index */
  private readonly code = new Map<number, Insn[]>();
  /** functions by "sectionIndex:startInsn" */
  private readonly functions = new Map<string, CodeFunction>();

  constructor(private readonly elf: ElfFile) {
    this.fileName = elf.fileName;
  }

  private fail(message: string, section?: ElfSection, offsetBytes?: number): never {
    throw new ElfError(this.fileName, message, section?.name, offsetBytes);
  }

  /** The decoded instructions of a code section. */
  private codeOf(section: ElfSection): Insn[] {
    const insns = this.code.get(section.index);
    if (insns === undefined) return this.fail(`section "${section.name}" was not decoded as code`, section);
    return insns;
  }

  /** The symbol a relocation names (relocationsBySlot checked the index; this says where if not). */
  private relocSymbol(reloc: ElfRelocation, section: ElfSection, offsetBytes: number): ElfSymbol {
    const symbol = this.elf.symbols[reloc.symbolIndex];
    if (symbol === undefined) return this.fail(`relocation #${reloc.entryIndex} refers to missing symbol #${reloc.symbolIndex}`, section, offsetBytes);
    return symbol;
  }

  /** A symbol's name, or its section's name for a section symbol (whose own name is empty). */
  private symbolName(symbol: ElfSymbol): string {
    return symbol.type === SymbolType.SECTION && symbol.name === '' ? this.sectionName(symbol.sectionIndex) : symbol.name;
  }

  private sectionName(index: number): string {
    if (index === SHN_UNDEF) return 'UND';
    if (index === SHN_ABS) return 'ABS';
    if (index === SHN_COMMON) return 'COMMON';
    return this.elf.sections[index]?.name ?? `#${index}`;
  }

  load(): BpfObject {
    const license = this.readLicense();
    this.readBtfMaps();
    this.readLegacyMaps();
    this.readDataSections();
    this.readCode();
    const programs: ObjectProgram[] = [];
    for (const fn of this.functions.values()) {
      if (fn.section.name === '.text') continue;
      programs.push(this.buildProgram(fn, license));
    }
    return {
      fileName: this.fileName,
      license,
      programs,
      maps: this.maps,
      sections: this.elf.sections.map((s) => ({
        index: s.index,
        name: s.name,
        type: SECTION_TYPE_NAMES[s.type] ?? `0x${s.type.toString(16)}`,
        sizeBytes: s.sizeBytes,
        flags: (s.flags & SectionFlag.WRITE ? 'W' : '') + (s.flags & SectionFlag.ALLOC ? 'A' : '') + (s.flags & SectionFlag.EXECINSTR ? 'X' : ''),
      })),
      symbols: this.elf.symbols.slice(1).map((s) => ({
        name: this.symbolName(s),
        type: SYMBOL_TYPE_NAMES[s.type] ?? String(s.type),
        bind: SYMBOL_BIND_NAMES[s.bind] ?? String(s.bind),
        sectionName: this.sectionName(s.sectionIndex),
        value: s.value,
        sizeBytes: s.sizeBytes,
      })),
      relocations: [...this.elf.relocations.entries()].flatMap(([target, list]) => {
        const section = this.elf.sections[target];
        if (section === undefined || !isCodeSection(section)) return [];
        return list.map((r) => {
          const symbol = this.elf.symbols[r.symbolIndex];
          return {
            sectionName: section.name,
            offsetBytes: r.offsetBytes,
            type: relocTypeName(r.type),
            symbolName: symbol !== undefined ? this.symbolName(symbol) : `#${r.symbolIndex}`,
          };
        });
      }),
    };
  }

  private readLicense(): string {
    const section = this.elf.sections.find((s) => s.name === 'license');
    if (section === undefined) return '';
    const end = section.data.indexOf(0);
    const bytes = end < 0 ? section.data : section.data.subarray(0, end);
    return String.fromCharCode(...bytes.subarray(0, 256));
  }

  /** Symbols defined in a section that name objects (not the section itself, not local labels). */
  private objectSymbols(section: ElfSection): ElfSymbol[] {
    return this.elf.symbols
      .filter((s) => s.sectionIndex === section.index && s.type !== SymbolType.SECTION && s.type !== SymbolType.FILE && s.name !== '')
      .sort((a, b) => a.value - b.value);
  }

  private addMap(spec: Omit<MapSpec, 'index'>, symbolKey?: string): number {
    const index = this.maps.length;
    this.maps.push({ index, ...spec });
    if (symbolKey !== undefined) this.mapBySymbol.set(symbolKey, index);
    return index;
  }

  private readBtfMaps(): void {
    const section = this.elf.sections.find((s) => s.name === '.maps');
    if (section === undefined) return;
    const btf = this.elf.sections.find((s) => s.name === '.BTF');
    if (btf === undefined) this.fail('BTF-style map definitions need a .BTF section (compile with -g)', section);
    const defs = parseBtfMapDefs(btf.data, this.fileName);
    for (const symbol of this.objectSymbols(section)) {
      const def: BtfMapDef | undefined = defs.get(symbol.name);
      if (def === undefined) this.fail(`map "${symbol.name}" has no BTF definition`, section, symbol.value);
      const need = (value: number | undefined, what: string): number => {
        if (value === undefined) this.fail(`map "${symbol.name}" does not declare ${what}`, section, symbol.value);
        return value;
      };
      this.addMap(
        {
          name: symbol.name,
          type: need(def.type, 'its type'),
          keySizeBytes: need(def.keySizeBytes, 'a key or key_size'),
          valueSizeBytes: need(def.valueSizeBytes, 'a value or value_size'),
          maxEntries: need(def.maxEntries, 'max_entries'),
          flags: def.flags ?? 0,
          origin: 'btf',
          sectionName: section.name,
          readOnly: false,
        },
        `${section.index}:${symbol.value}`,
      );
    }
  }

  private readLegacyMaps(): void {
    for (const section of this.elf.sections) {
      if (section.name !== 'maps' && !section.name.startsWith('maps/')) continue;
      const symbols = this.objectSymbols(section);
      if (symbols.length === 0) continue;
      if (section.type !== SectionType.PROGBITS) this.fail(`map definitions must be PROGBITS, not section type ${section.type}`, section);
      // As libbpf: every definition has the same size, the section size over the symbol count.
      const defBytes = Math.floor(section.sizeBytes / symbols.length);
      if (defBytes < LEGACY_MAP_DEF_BYTES_MIN || section.sizeBytes % symbols.length !== 0) {
        this.fail(`${symbols.length} map symbols do not divide the section (${section.sizeBytes} bytes) into struct bpf_map_def entries`, section);
      }
      const view = new DataView(section.data.buffer, section.data.byteOffset, section.data.byteLength);
      for (const symbol of symbols) {
        if (symbol.value % defBytes !== 0 || symbol.value + defBytes > section.sizeBytes) {
          this.fail(`map "${symbol.name}" at offset ${symbol.value} is not a whole struct bpf_map_def`, section, symbol.value);
        }
        const at = symbol.value;
        this.addMap(
          {
            name: symbol.name,
            type: view.getUint32(at, true),
            keySizeBytes: view.getUint32(at + 4, true),
            valueSizeBytes: view.getUint32(at + 8, true),
            maxEntries: view.getUint32(at + 12, true),
            flags: defBytes >= 20 ? view.getUint32(at + 16, true) : 0,
            origin: 'legacy',
            sectionName: section.name,
            readOnly: false,
          },
          `${section.index}:${symbol.value}`,
        );
      }
    }
  }

  private readDataSections(): void {
    for (const section of this.elf.sections) {
      if (!DATA_SECTION.test(section.name) || (section.flags & SectionFlag.ALLOC) === 0) continue;
      if (section.sizeBytes === 0) continue;
      if (section.sizeBytes > DATA_SECTION_BYTES_MAX) {
        this.fail(`global data of ${section.sizeBytes} bytes exceeds the limit of ${DATA_SECTION_BYTES_MAX}`, section);
      }
      const isBss = section.type === SectionType.NOBITS;
      const index = this.addMap({
        name: section.name,
        type: MapType.ARRAY,
        keySizeBytes: 4,
        valueSizeBytes: section.sizeBytes,
        maxEntries: 1,
        flags: 0,
        origin: 'data',
        sectionName: section.name,
        initialValue: isBss ? new Uint8Array(section.sizeBytes) : section.data.slice(),
        readOnly: section.name.startsWith('.rodata'),
      });
      this.dataMapBySection.set(section.index, index);
    }
  }

  /** Decode every executable section and cut it into functions. */
  private readCode(): void {
    for (const section of this.elf.sections) {
      if (!isCodeSection(section)) continue;
      if (section.sizeBytes % INSN_BYTES !== 0) {
        this.fail(`code size ${section.sizeBytes} is not a multiple of ${INSN_BYTES} bytes`, section);
      }
      const insns = decode(section.data);
      this.code.set(section.index, insns);
      const funcs = this.elf.symbols
        .filter((s) => s.sectionIndex === section.index && s.type === SymbolType.FUNC)
        .sort((a, b) => a.value - b.value);
      if (funcs.length === 0 && section.name !== '.text' && insns.length > 0) {
        // Hand-written code without function symbols: the whole section is one program.
        this.functions.set(`${section.index}:0`, { name: section.name, section, startInsn: 0, insnCount: insns.length });
        continue;
      }
      funcs.forEach((fn, i) => {
        if (fn.value % INSN_BYTES !== 0 || fn.value >= section.sizeBytes) {
          this.fail(`function "${fn.name}" starts at offset ${fn.value}, which is not an instruction of the section`, section, fn.value);
        }
        // A size of 0 (hand-written assembly) extends to the next function or the section's end.
        const next = funcs[i + 1]?.value ?? section.sizeBytes;
        const sizeBytes = fn.sizeBytes === 0 ? next - fn.value : fn.sizeBytes;
        if (sizeBytes % INSN_BYTES !== 0 || fn.value + sizeBytes > section.sizeBytes || sizeBytes <= 0) {
          this.fail(`function "${fn.name}" (offset ${fn.value}, ${fn.sizeBytes} bytes) does not fit the section`, section, fn.value);
        }
        const key = `${section.index}:${fn.value / INSN_BYTES}`;
        if (this.functions.has(key)) this.fail(`two functions start at offset ${fn.value}`, section, fn.value);
        this.functions.set(key, { name: fn.name, section, startInsn: fn.value / INSN_BYTES, insnCount: sizeBytes / INSN_BYTES });
      });
    }
  }

  /** The relocations of a code section by instruction slot, validated. */
  private relocationsBySlot(section: ElfSection): Map<number, ElfRelocation> {
    const bySlot = new Map<number, ElfRelocation>();
    const insns = this.codeOf(section);
    for (const r of this.elf.relocations.get(section.index) ?? []) {
      if (r.type === RelocType.NONE) continue;
      const relSection = this.elf.sections[r.relSectionIndex];
      // the text of a failure, built only for one (this runs for every relocation of the code)
      const where = (): string => `relocation #${r.entryIndex} (${relocTypeName(r.type)}) at offset ${r.offsetBytes} of "${section.name}"`;
      if (r.offsetBytes % INSN_BYTES !== 0 || r.offsetBytes >= section.sizeBytes) {
        this.fail(`${where()} is not on an instruction`, relSection, r.entryIndex * 16);
      }
      if (r.symbolIndex === 0 || r.symbolIndex >= this.elf.symbols.length) {
        this.fail(`${where()} refers to missing symbol #${r.symbolIndex}`, relSection, r.entryIndex * 16);
      }
      const slot = r.offsetBytes / INSN_BYTES;
      const insn = insns[slot];
      if (insn === undefined) return this.fail(`${where()} is not on an instruction`, relSection, r.entryIndex * 16);
      if (r.type === RelocType.BPF_64_64) {
        if (!isLdImm64(insn) || slot + 1 >= insns.length) this.fail(`${where()} is not on a 64-bit immediate load (lddw)`, relSection, r.entryIndex * 16);
      } else if (r.type === RelocType.BPF_64_32) {
        if (!isLocalCall(insn)) this.fail(`${where()} is not on a bpf-to-bpf call`, relSection, r.entryIndex * 16);
      } else {
        this.fail(`${where()}: unsupported relocation type in code`, relSection, r.entryIndex * 16);
      }
      if (bySlot.has(slot)) this.fail(`${where()}: a second relocation of the same instruction`, relSection, r.entryIndex * 16);
      bySlot.set(slot, r);
    }
    return bySlot;
  }

  /** Place the entry function, then every function it reaches, fixing calls and pseudo loads. */
  private buildProgram(entry: CodeFunction, license: string): ObjectProgram {
    const out: Insn[] = [];
    const placed: ProgramFunction[] = [];
    const position = new Map<CodeFunction, number>();
    const queue: CodeFunction[] = [entry];
    const calls: { at: number; callee: CodeFunction; symbolName: string }[] = [];
    const applied: AppliedRelocation[] = [];
    const relocCache = new Map<number, Map<number, ElfRelocation>>();

    // The queue grows while it is walked: every callee found is placed after the functions before it.
    for (const fn of queue) {
      const base = out.length;
      if (base + fn.insnCount > PROGRAM_INSNS_MAX) {
        this.fail(`program "${entry.name}" exceeds ${PROGRAM_INSNS_MAX} instructions with its subprograms`, entry.section);
      }
      position.set(fn, base);
      placed.push({ name: fn.name, sectionName: fn.section.name, startInsn: base, insnCount: fn.insnCount });
      const sectionInsns = this.codeOf(fn.section);
      let relocs = relocCache.get(fn.section.index);
      if (relocs === undefined) {
        relocs = this.relocationsBySlot(fn.section);
        relocCache.set(fn.section.index, relocs);
      }
      for (let i = 0; i < fn.insnCount; i++) {
        const slot = fn.startInsn + i;
        const original = sectionInsns[slot];
        if (original === undefined) return this.fail(`function "${fn.name}" runs past the end of its section`, fn.section, slot * INSN_BYTES);
        const insn: Insn = { ...original };
        out.push(insn);
        const reloc = relocs.get(slot);
        if (isLocalCall(insn)) {
          const { callee, symbolName } = this.callTarget(fn, slot, insn, reloc);
          if (!position.has(callee) && !queue.includes(callee)) queue.push(callee);
          calls.push({ at: base + i, callee, symbolName });
        } else if (isLdImm64(insn)) {
          if (i + 1 >= fn.insnCount) this.fail(`lddw at offset ${slot * INSN_BYTES} is cut by the end of function "${fn.name}"`, fn.section, slot * INSN_BYTES);
          const tail = sectionInsns[slot + 1];
          if (tail === undefined) return this.fail(`lddw at offset ${slot * INSN_BYTES} is cut by the end of "${fn.section.name}"`, fn.section, slot * INSN_BYTES);
          const second: Insn = { ...tail };
          if (reloc !== undefined) applied.push(this.resolveLoad(fn.section, slot, insn, second, reloc, base + i));
          out.push(second);
          i++;
        }
      }
    }
    for (const call of calls) {
      // Every callee was queued when its call was found, so it has a position, and call.at is a slot of out.
      const target = position.get(call.callee);
      const insn = out[call.at];
      if (target === undefined || insn === undefined) return this.fail(`call at instruction ${call.at} of "${entry.name}" to "${call.callee.name}" was not placed`, entry.section);
      insn.imm = target - (call.at + 1);
      applied.push({ insnIndex: call.at, kind: 'call', symbolName: call.symbolName, target });
    }
    applied.sort((a, b) => a.insnIndex - b.insnIndex);
    return { name: entry.name, sectionName: entry.section.name, license, insns: out, functions: placed, relocations: applied };
  }

  private callTarget(fn: CodeFunction, slot: number, insn: Insn, reloc: ElfRelocation | undefined): { callee: CodeFunction; symbolName: string } {
    let section = fn.section;
    let targetSlot: number;
    let symbolName: string;
    if (reloc !== undefined) {
      const symbol = this.relocSymbol(reloc, fn.section, slot * INSN_BYTES);
      const targetSection = this.elf.sections[symbol.sectionIndex];
      if (targetSection === undefined || !isCodeSection(targetSection)) {
        this.fail(`call at offset ${slot * INSN_BYTES} refers to "${symbol.name}", which is not in a code section`, fn.section, slot * INSN_BYTES);
      }
      section = targetSection;
      // As libbpf: the callee's slot is the symbol's slot plus imm + 1 (imm is -1 for a function symbol).
      targetSlot = symbol.value / INSN_BYTES + insn.imm + 1;
      symbolName = this.symbolName(symbol);
    } else {
      targetSlot = slot + insn.imm + 1;
      symbolName = '';
    }
    const callee = this.functions.get(`${section.index}:${targetSlot}`);
    if (callee === undefined) {
      this.fail(`call at offset ${slot * INSN_BYTES} targets slot ${targetSlot} of "${section.name}", which is not the start of a function`, fn.section, slot * INSN_BYTES);
    }
    return { callee, symbolName: symbolName === '' || symbolName === section.name ? callee.name : symbolName };
  }

  /** Turn an lddw with an R_BPF_64_64 relocation into a MAP_BY_IDX or MAP_VAL_BY_IDX pseudo load. */
  private resolveLoad(section: ElfSection, slot: number, first: Insn, second: Insn, reloc: ElfRelocation, outIndex: number): AppliedRelocation {
    const offsetBytes = slot * INSN_BYTES;
    const symbol = this.relocSymbol(reloc, section, offsetBytes);
    if (symbol.sectionIndex === SHN_UNDEF) {
      this.fail(`lddw refers to undefined symbol "${symbol.name}" (extern variables are not supported)`, section, offsetBytes);
    }
    const mapIndex = this.mapBySymbol.get(`${symbol.sectionIndex}:${symbol.value}`);
    if (mapIndex !== undefined && symbol.type !== SymbolType.SECTION) {
      first.src = LdImm64Src.MAP_BY_IDX;
      first.imm = mapIndex;
      second.imm = 0;
      return { insnIndex: outIndex, kind: 'map', symbolName: symbol.name, target: mapIndex };
    }
    const dataIndex = this.dataMapBySection.get(symbol.sectionIndex);
    if (dataIndex !== undefined) {
      // As libbpf: the offset in the value is the symbol's value plus the addend clang left in imm.
      const valueOffset = symbol.value + first.imm;
      const map = this.maps[dataIndex];
      if (map === undefined) return this.fail(`lddw of "${symbol.name}": global-data map #${dataIndex} does not exist`, section, offsetBytes);
      if (valueOffset < 0 || valueOffset >= map.valueSizeBytes) {
        this.fail(`lddw of "${symbol.name}" + ${first.imm} points outside "${map.name}" (${map.valueSizeBytes} bytes)`, section, offsetBytes);
      }
      first.src = LdImm64Src.MAP_VAL_BY_IDX;
      first.imm = dataIndex;
      second.imm = valueOffset;
      return { insnIndex: outIndex, kind: 'map_value', symbolName: this.symbolName(symbol), target: dataIndex, valueOffsetBytes: valueOffset };
    }
    const where = this.sectionName(symbol.sectionIndex);
    this.fail(`lddw refers to "${symbol.name}" in section "${where}", which is neither a map nor global data`, section, offsetBytes);
  }
}

/** Find a program by function name, or by section name when that is unambiguous. */
export function findProgram(object: BpfObject, name: string): ObjectProgram {
  const byName = object.programs.find((p) => p.name === name);
  if (byName !== undefined) return byName;
  const bySection = object.programs.filter((p) => p.sectionName === name);
  const [only, ...others] = bySection;
  if (only !== undefined && others.length === 0) return only;
  const known = object.programs.map((p) => `${p.name} (section ${p.sectionName})`).join(', ') || 'none';
  const why = bySection.length > 1 ? `section "${name}" holds ${bySection.length} programs; name one` : `no program "${name}"`;
  throw new ElfError(object.fileName, `${why}; programs: ${known}`);
}
