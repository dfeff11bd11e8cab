// eBPF maps of one run, with their values inside the run's AddressSpace so that
// the interpreter and the JIT read and write them like any other memory.
//
// Every map has a small read-only "handle" region whose address is the map
// pointer a program holds (what `lddw r1, map` becomes after linking): helpers
// find the map by that address. Array maps keep all values in one region
// (element i at base + i * stride); hash maps keep a region of value slots and
// a key index on the host side. As in Linux, a lookup returns a pointer to the
// value in place, values are 8-byte aligned (stride = value size rounded up
// to 8), and a deleted hash slot is only reused by a later update.

import type { MapSpec } from './elf/elf.ts';
import { MapType } from './elf/elf.ts';
import { XrpError } from '../base/errors.ts';
import type { AddressSpace, Region } from './memory.ts';

/** errno values returned (negated) by map helpers, as in Linux. */
export const Errno = { EPERM: 1, ENOENT: 2, E2BIG: 7, EFAULT: 14, EEXIST: 17, EINVAL: 22 } as const;

/** Flags of bpf_map_update_elem. */
export const UpdateFlag = { ANY: 0, NOEXIST: 1, EXIST: 2 } as const;

/** Limits as in Linux: keys live on the 512-byte stack; values are bounded to keep a run's memory small. */
export const MAP_KEY_BYTES_MAX = 512;
export const MAP_VALUE_BYTES_MAX = 1 << 20;
const HANDLE_BYTES = 32;

export class MapError extends XrpError {
  constructor(mapName: string, message: string) {
    super('MAP', `map "${mapName}": ${message}`);
  }
}

const roundUp8 = (n: number): number => Math.ceil(n / 8) * 8;

/** One instantiated map. Keys and values are passed as bytes (host side) or addresses (helpers). */
export interface BpfMap {
  readonly spec: MapSpec;
  /** the address a program holds as the map pointer */
  readonly handle: number;
  /** where the values live */
  readonly values: Region;
  /** bytes between consecutive values */
  readonly strideBytes: number;
  /** address of the value for `key`, or 0 when absent */
  lookup(key: Uint8Array): number;
  /** 0, or a negative errno; `fromProgram` enforces read-only maps */
  update(key: Uint8Array, value: Uint8Array, flags: number, fromProgram: boolean): number;
  /** 0, or a negative errno */
  delete(key: Uint8Array): number;
  /** number of present entries (array maps: always max_entries) */
  size(): number;
}

function checkSpec(spec: MapSpec): void {
  if (spec.type !== MapType.ARRAY && spec.type !== MapType.HASH) {
    throw new MapError(spec.name, `map type ${spec.type} is not supported (only array ${MapType.ARRAY} and hash ${MapType.HASH})`);
  }
  if (spec.keySizeBytes <= 0 || spec.keySizeBytes > MAP_KEY_BYTES_MAX) {
    throw new MapError(spec.name, `key size ${spec.keySizeBytes} is outside 1..${MAP_KEY_BYTES_MAX}`);
  }
  if (spec.type === MapType.ARRAY && spec.keySizeBytes !== 4) throw new MapError(spec.name, `array maps need 4-byte keys, not ${spec.keySizeBytes}`);
  if (spec.valueSizeBytes <= 0 || spec.valueSizeBytes > MAP_VALUE_BYTES_MAX) {
    throw new MapError(spec.name, `value size ${spec.valueSizeBytes} is outside 1..${MAP_VALUE_BYTES_MAX}`);
  }
  if (spec.maxEntries <= 0) throw new MapError(spec.name, 'max_entries must be positive');
  if (spec.maxEntries * roundUp8(spec.valueSizeBytes) > MAP_VALUE_BYTES_MAX * 16) {
    throw new MapError(spec.name, `${spec.maxEntries} entries of ${spec.valueSizeBytes} bytes are too large for a run's memory`);
  }
}

function flagsError(flags: number): number {
  return flags !== UpdateFlag.ANY && flags !== UpdateFlag.NOEXIST && flags !== UpdateFlag.EXIST ? -Errno.EINVAL : 0;
}

function mapHandle(memory: AddressSpace, spec: MapSpec): number {
  // The handle region mirrors the head of the kernel's struct bpf_map_def, for readability in dumps.
  const region = memory.map(`map ${spec.name}`, HANDLE_BYTES, { writable: false, alignBytes: 8 });
  const view = memory.view;
  view.setUint32(region.base, spec.type, true);
  view.setUint32(region.base + 4, spec.keySizeBytes, true);
  view.setUint32(region.base + 8, spec.valueSizeBytes, true);
  view.setUint32(region.base + 12, spec.maxEntries, true);
  return region.base;
}

class ArrayMap implements BpfMap {
  readonly handle: number;
  readonly values: Region;
  readonly strideBytes: number;

  constructor(
    readonly spec: MapSpec,
    private readonly memory: AddressSpace,
  ) {
    this.handle = mapHandle(memory, spec);
    this.strideBytes = roundUp8(spec.valueSizeBytes);
    this.values = memory.map(`map ${spec.name} values`, this.strideBytes * spec.maxEntries, { writable: !spec.readOnly, alignBytes: 8 });
    if (spec.initialValue !== undefined) memory.u8.set(spec.initialValue.subarray(0, spec.valueSizeBytes), this.values.base);
  }

  private index(key: Uint8Array): number {
    return new DataView(key.buffer, key.byteOffset, key.byteLength).getUint32(0, true);
  }

  lookup(key: Uint8Array): number {
    const i = this.index(key);
    return i < this.spec.maxEntries ? this.values.base + i * this.strideBytes : 0;
  }

  update(key: Uint8Array, value: Uint8Array, flags: number, fromProgram: boolean): number {
    if (flagsError(flags) !== 0) return -Errno.EINVAL;
    if (fromProgram && this.spec.readOnly) return -Errno.EPERM;
    const i = this.index(key);
    if (i >= this.spec.maxEntries) return -Errno.E2BIG;
    if (flags === UpdateFlag.NOEXIST) return -Errno.EEXIST; // every array element exists
    this.memory.u8.set(value.subarray(0, this.spec.valueSizeBytes), this.values.base + i * this.strideBytes);
    return 0;
  }

  delete(): number {
    return -Errno.EINVAL; // array elements cannot be deleted
  }

  size(): number {
    return this.spec.maxEntries;
  }
}

class HashMap implements BpfMap {
  readonly handle: number;
  readonly values: Region;
  readonly strideBytes: number;
  private readonly slotByKey = new Map<string, number>();
  private readonly freeSlots: number[] = [];

  constructor(
    readonly spec: MapSpec,
    private readonly memory: AddressSpace,
  ) {
    this.handle = mapHandle(memory, spec);
    this.strideBytes = roundUp8(spec.valueSizeBytes);
    this.values = memory.map(`map ${spec.name} values`, this.strideBytes * spec.maxEntries, { writable: true, alignBytes: 8 });
    // Pop from the end: slot 0 is used first.
    for (let slot = spec.maxEntries - 1; slot >= 0; slot--) this.freeSlots.push(slot);
  }

  private static keyOf(key: Uint8Array): string {
    return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex');
  }

  lookup(key: Uint8Array): number {
    const slot = this.slotByKey.get(HashMap.keyOf(key));
    return slot === undefined ? 0 : this.values.base + slot * this.strideBytes;
  }

  update(key: Uint8Array, value: Uint8Array, flags: number): number {
    if (flagsError(flags) !== 0) return -Errno.EINVAL;
    const k = HashMap.keyOf(key);
    let slot = this.slotByKey.get(k);
    if (slot !== undefined && flags === UpdateFlag.NOEXIST) return -Errno.EEXIST;
    if (slot === undefined) {
      if (flags === UpdateFlag.EXIST) return -Errno.ENOENT;
      slot = this.freeSlots.pop();
      if (slot === undefined) return -Errno.E2BIG;
      this.slotByKey.set(k, slot);
    }
    const at = this.values.base + slot * this.strideBytes;
    this.memory.u8.fill(0, at, at + this.strideBytes);
    this.memory.u8.set(value.subarray(0, this.spec.valueSizeBytes), at);
    return 0;
  }

  delete(key: Uint8Array): number {
    const k = HashMap.keyOf(key);
    const slot = this.slotByKey.get(k);
    if (slot === undefined) return -Errno.ENOENT;
    this.slotByKey.delete(k);
    this.freeSlots.push(slot);
    return 0;
  }

  size(): number {
    return this.slotByKey.size;
  }
}

/** The maps of one object in one AddressSpace, indexed like BpfObject.maps. */
export class MapSet {
  readonly maps: readonly BpfMap[];
  private readonly byHandle = new Map<number, BpfMap>();

  constructor(
    specs: readonly MapSpec[],
    readonly memory: AddressSpace,
  ) {
    specs.forEach(checkSpec);
    this.maps = specs.map((spec) => (spec.type === MapType.ARRAY ? new ArrayMap(spec, memory) : new HashMap(spec, memory)));
    for (const map of this.maps) this.byHandle.set(map.handle, map);
  }

  /** The map whose handle is `address`, if any. */
  fromHandle(address: bigint): BpfMap | undefined {
    return address > 0n && address <= BigInt(Number.MAX_SAFE_INTEGER) ? this.byHandle.get(Number(address)) : undefined;
  }

  byName(name: string): BpfMap {
    const map = this.maps.find((m) => m.spec.name === name);
    if (map === undefined) throw new MapError(name, `no such map; maps: ${this.maps.map((m) => m.spec.name).join(', ') || 'none'}`);
    return map;
  }

  /** Host-side read of a value (a copy), or undefined when absent. */
  read(map: BpfMap, key: Uint8Array): Uint8Array | undefined {
    const at = map.lookup(key);
    return at === 0 ? undefined : this.memory.u8.slice(at, at + map.spec.valueSizeBytes);
  }
}
