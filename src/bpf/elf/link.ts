// Linking: instantiate an object's maps in a run's AddressSpace and resolve a
// program's pseudo loads into plain 64-bit immediates, so that any Engine can
// run it without knowing about maps:
//   MAP_BY_IDX      -> the map's handle address (what helpers take as a map pointer)
//   MAP_VAL_BY_IDX  -> the address of element 0 of an array map, plus the offset
// The unresolved program (ObjectProgram) and the map specs stay available for
// the verifier, which needs the pseudo sources to type map pointers and values.

import type { BpfObject, MapSpec, ObjectProgram } from './elf.ts';
import { findProgram, MapType } from './elf.ts';
import { XrpError } from '../../base/errors.ts';
import { isLdImm64, LdImm64Src, ldImm64, type Insn, type Program } from '../isa.ts';
import type { AddressSpace } from '../memory.ts';
import { MapSet } from '../maps.ts';

export class LinkError extends XrpError {
  constructor(programName: string, insnIndex: number, message: string) {
    super('LINK', `program "${programName}", instruction ${insnIndex}: ${message}`);
  }
}

export interface LinkedProgram {
  /** the program with every pseudo load resolved: ready for an Engine */
  readonly program: Program;
  /** the program as loaded, pseudo loads intact (for the verifier) */
  readonly source: ObjectProgram;
  /** the object's map specs, indexed by the pseudo loads' imm */
  readonly mapSpecs: readonly MapSpec[];
  /** the instantiated maps of this run */
  readonly maps: MapSet;
}

/**
 * Link program `programName` (function or unambiguous section name) of `object`
 * into `memory`. Pass `maps` to share the maps of an earlier link of the same
 * object (as programs of one object share maps under libbpf).
 */
export function linkProgram(object: BpfObject, programName: string, memory: AddressSpace, maps?: MapSet): LinkedProgram {
  const source = findProgram(object, programName);
  const mapSet = maps ?? new MapSet(object.maps, memory);
  if (mapSet.memory !== memory) throw new LinkError(source.name, 0, 'the shared maps live in a different address space');
  if (mapSet.maps.length !== object.maps.length) {
    throw new LinkError(source.name, 0, `the shared map set has ${mapSet.maps.length} maps, the object ${object.maps.length}`);
  }
  const insns: Insn[] = source.insns.map((i) => ({ ...i }));
  for (let pc = 0, first = insns[0]; first !== undefined; first = insns[++pc]) {
    if (!isLdImm64(first)) continue;
    const second = insns[pc + 1];
    if (second === undefined) throw new LinkError(source.name, pc, 'lddw without its second slot');
    const fail = (message: string): never => {
      throw new LinkError(source.name, pc, message);
    };
    let value: bigint | undefined;
    switch (first.src) {
      case LdImm64Src.IMM64:
        break;
      case LdImm64Src.MAP_BY_IDX: {
        const map = mapSet.maps[first.imm] ?? fail(`map index ${first.imm} does not exist (${mapSet.maps.length} maps)`);
        value = BigInt(map.handle);
        break;
      }
      case LdImm64Src.MAP_VAL_BY_IDX: {
        const map = mapSet.maps[first.imm] ?? fail(`map index ${first.imm} does not exist (${mapSet.maps.length} maps)`);
        if (map.spec.type !== MapType.ARRAY) fail(`direct value access needs an array map; "${map.spec.name}" is type ${map.spec.type}`);
        const offset = second.imm;
        if (offset < 0 || offset >= map.spec.valueSizeBytes) {
          fail(`offset ${offset} is outside the value of "${map.spec.name}" (${map.spec.valueSizeBytes} bytes)`);
        }
        value = BigInt(map.values.base + offset);
        break;
      }
      default:
        fail(`lddw with src ${first.src} cannot be linked (map file descriptors and code addresses are not supported)`);
    }
    if (value !== undefined) {
      const [lo, hi] = ldImm64(first.dst, value);
      insns[pc] = lo;
      insns[pc + 1] = hi;
    }
    pc++;
  }
  return { program: { name: source.name, insns }, source, mapSpecs: object.maps, maps: mapSet };
}
