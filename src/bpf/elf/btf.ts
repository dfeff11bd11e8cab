// Just enough BTF to read BTF-style map definitions (the `.maps` section).
//
// libbpf's `__uint(name, val)` declares a member `int (*name)[val]`, whose value
// lives only in the type information (the section bytes are zero), and
// `__type(key, T)` declares `T *key`, whose size is sizeof(T). So for each map
// variable we find its struct in BTF (by the variable's name, through the
// DATASEC ".maps") and read the members. Nothing else in BTF is needed to load
// or run a program, so other sections of BTF are never parsed.

import { ElfError } from './reader.ts';

const BTF_MAGIC = 0xeb9f;
const BTF_HEADER_BYTES_MIN = 24;
/** Following typedef/const/volatile/pointer chains deeper than this means a cycle. */
const RESOLVE_DEPTH_MAX = 32;

const Kind = {
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
} as const;

interface BtfType {
  name: string;
  kind: number;
  vlen: number;
  /** size for INT/STRUCT/UNION/ENUM/DATASEC/FLOAT, referenced type id otherwise */
  sizeOrType: number;
  /** ARRAY: [elemType, indexType, nelems]; STRUCT/UNION: [name, type, offset] per member; DATASEC: [type, offset, size] per var */
  extra: number[];
  memberNames: string[];
}

/** What a `.maps` entry declares. Absent fields were not declared. */
export interface BtfMapDef {
  type?: number;
  maxEntries?: number;
  keySizeBytes?: number;
  valueSizeBytes?: number;
  flags?: number;
  /** member names that this loader does not interpret (for example pinning, values) */
  otherMembers: string[];
}

export function parseBtfMapDefs(btf: Uint8Array, fileName: string): Map<string, BtfMapDef> {
  const fail = (message: string, offsetBytes?: number): never => {
    throw new ElfError(fileName, message, '.BTF', offsetBytes);
  };
  if (btf.length < BTF_HEADER_BYTES_MIN) fail(`truncated BTF header: ${btf.length} bytes`, 0);
  const view = new DataView(btf.buffer, btf.byteOffset, btf.byteLength);
  if (view.getUint16(0, true) !== BTF_MAGIC) fail(`bad BTF magic 0x${view.getUint16(0, true).toString(16)}`, 0);
  const headerBytes = view.getUint32(4, true);
  const typeOff = view.getUint32(8, true);
  const typeLen = view.getUint32(12, true);
  const strOff = view.getUint32(16, true);
  const strLen = view.getUint32(20, true);
  if (headerBytes < BTF_HEADER_BYTES_MIN || headerBytes > btf.length) fail(`bad BTF header length ${headerBytes}`, 4);
  const typeStart = headerBytes + typeOff;
  const typeEnd = typeStart + typeLen;
  const strStart = headerBytes + strOff;
  const strEnd = strStart + strLen;
  if (typeEnd > btf.length) fail(`BTF type section (${typeLen} bytes at ${typeStart}) extends past the section`, 8);
  if (strEnd > btf.length) fail(`BTF string section (${strLen} bytes at ${strStart}) extends past the section`, 16);

  const str = (offset: number, at: number): string => {
    if (offset >= strLen) fail(`BTF string offset ${offset} is outside the string section (${strLen} bytes)`, at);
    let end = strStart + offset;
    while (end < strEnd && btf[end] !== 0) end++;
    if (end === strEnd) fail(`BTF string at offset ${offset} is not NUL-terminated`, at);
    let s = '';
    for (const byte of btf.subarray(strStart + offset, end)) s += String.fromCharCode(byte);
    return s;
  };

  // Type ids start at 1; id 0 is void.
  const types: (BtfType | undefined)[] = [undefined];
  let at = typeStart;
  while (at < typeEnd) {
    if (at + 12 > typeEnd) fail('truncated BTF type', at);
    const info = view.getUint32(at + 4, true);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const type: BtfType = { name: str(view.getUint32(at, true), at), kind, vlen, sizeOrType: view.getUint32(at + 8, true), extra: [], memberNames: [] };
    const start = at;
    at += 12;
    const words = (count: number): void => {
      if (at + count * 4 > typeEnd) fail(`truncated BTF type (kind ${kind})`, start);
      for (let i = 0; i < count; i++) type.extra.push(view.getUint32(at + i * 4, true));
      at += count * 4;
    };
    switch (kind) {
      case Kind.INT:
      case Kind.VAR:
      case Kind.DECL_TAG:
        words(1);
        break;
      case Kind.ARRAY:
        words(3);
        break;
      case Kind.STRUCT:
      case Kind.UNION:
        for (let i = 0; i < vlen; i++) {
          if (at + 12 > typeEnd) fail('truncated BTF member', start);
          type.memberNames.push(str(view.getUint32(at, true), at));
          words(3);
        }
        break;
      case Kind.ENUM:
      case Kind.FUNC_PROTO:
        words(2 * vlen);
        break;
      case Kind.DATASEC:
      case Kind.ENUM64:
        words(3 * vlen);
        break;
      case Kind.PTR:
      case Kind.FWD:
      case Kind.TYPEDEF:
      case Kind.VOLATILE:
      case Kind.CONST:
      case Kind.RESTRICT:
      case Kind.FUNC:
      case Kind.FLOAT:
      case Kind.TYPE_TAG:
        break;
      default:
        fail(`unknown BTF kind ${kind} (type #${types.length})`, start);
    }
    types.push(type);
  }

  const get = (id: number): BtfType => {
    const t = types[id];
    if (t === undefined) return fail(`BTF type id ${id} does not exist (${types.length - 1} types)`);
    return t;
  };
  /** Word `i` of a type's extra data (array dimensions, members, variables), which the parser sized by its kind. */
  const extra = (t: BtfType, i: number): number => {
    const word = t.extra[i];
    if (word === undefined) return fail(`BTF type "${t.name}" (kind ${t.kind}) has no extra word ${i}`);
    return word;
  };
  /** Strip typedef and qualifiers. */
  const skipModifiers = (id: number): BtfType => {
    for (let depth = 0; depth < RESOLVE_DEPTH_MAX; depth++) {
      const t = get(id);
      if (t.kind !== Kind.TYPEDEF && t.kind !== Kind.VOLATILE && t.kind !== Kind.CONST && t.kind !== Kind.RESTRICT && t.kind !== Kind.TYPE_TAG) {
        return t;
      }
      id = t.sizeOrType;
    }
    return fail(`BTF type chain from id ${id} is too deep (a cycle?)`);
  };
  const sizeOf = (id: number, depth = 0): number => {
    if (depth > RESOLVE_DEPTH_MAX) fail(`BTF type chain from id ${id} is too deep (a cycle?)`);
    const t = skipModifiers(id);
    switch (t.kind) {
      case Kind.INT:
      case Kind.STRUCT:
      case Kind.UNION:
      case Kind.ENUM:
      case Kind.ENUM64:
      case Kind.FLOAT:
        return t.sizeOrType;
      case Kind.PTR:
        return 8;
      case Kind.ARRAY:
        return extra(t, 2) * sizeOf(extra(t, 0), depth + 1);
      default:
        return fail(`BTF type id ${id} (kind ${t.kind}) has no size`);
    }
  };
  /** `int (*name)[value]` → value. */
  const uintMember = (memberType: number, mapName: string, member: string): number => {
    const ptr = skipModifiers(memberType);
    if (ptr.kind !== Kind.PTR) fail(`map "${mapName}": member "${member}" is not declared with __uint()`);
    const array = skipModifiers(ptr.sizeOrType);
    if (array.kind !== Kind.ARRAY) fail(`map "${mapName}": member "${member}" is not declared with __uint()`);
    return extra(array, 2);
  };
  /** `T *name` → sizeof(T). */
  const typeMember = (memberType: number, mapName: string, member: string): number => {
    const ptr = skipModifiers(memberType);
    if (ptr.kind !== Kind.PTR) fail(`map "${mapName}": member "${member}" is not declared with __type()`);
    return sizeOf(ptr.sizeOrType);
  };

  const defs = new Map<string, BtfMapDef>();
  for (const datasec of types) {
    if (datasec === undefined || datasec.kind !== Kind.DATASEC || datasec.name !== '.maps') continue;
    for (let v = 0; v < datasec.vlen; v++) {
      const variable = get(extra(datasec, v * 3));
      if (variable.kind !== Kind.VAR) fail(`DATASEC .maps entry ${v} is not a variable`);
      const struct = skipModifiers(variable.sizeOrType);
      if (struct.kind !== Kind.STRUCT) fail(`map "${variable.name}" is not a struct`);
      const def: BtfMapDef = { otherMembers: [] };
      for (let m = 0; m < struct.vlen; m++) {
        const member = struct.memberNames[m];
        if (member === undefined) return fail(`struct of map "${variable.name}" has no name for member ${m}`);
        const memberType = extra(struct, m * 3 + 1);
        switch (member) {
          case 'type':
            def.type = uintMember(memberType, variable.name, member);
            break;
          case 'max_entries':
            def.maxEntries = uintMember(memberType, variable.name, member);
            break;
          case 'map_flags':
            def.flags = uintMember(memberType, variable.name, member);
            break;
          case 'key_size':
            def.keySizeBytes = uintMember(memberType, variable.name, member);
            break;
          case 'value_size':
            def.valueSizeBytes = uintMember(memberType, variable.name, member);
            break;
          case 'key':
            def.keySizeBytes = typeMember(memberType, variable.name, member);
            break;
          case 'value':
            def.valueSizeBytes = typeMember(memberType, variable.name, member);
            break;
          default:
            def.otherMembers.push(member);
        }
      }
      defs.set(variable.name, def);
    }
  }
  return defs;
}
