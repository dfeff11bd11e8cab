// The address space of one eBPF run.
//
// All regions of a run (context, stack frames, input buffers, data and scratch
// pages, map values) live in one WebAssembly.Memory; a pointer is an offset into
// it. The interpreter checks every access against the region table, and the JIT
// imports the very same memory, so both engines see the same addresses and leave
// the same bytes. Address 0 and a guard gap after each region are never mapped,
// so NULL and off-by-a-little pointers fault in the interpreter.

import { XrpError } from '../base/errors.ts';

export const PAGE_BYTES = 4096;
const WASM_PAGE_BYTES = 65536;

export interface Region {
  readonly name: string;
  /** address of the first byte */
  readonly base: number;
  readonly sizeBytes: number;
  readonly writable: boolean;
}

export interface MapOptions {
  writable?: boolean;
  /** alignment of the base address, a power of two (default 4096) */
  alignBytes?: number;
}

export class AddressSpaceError extends XrpError {
  constructor(message: string) {
    super('ADDRESS_SPACE', message);
  }
}

export class AddressSpace {
  readonly memory: WebAssembly.Memory;
  readonly capacityBytes: number;
  private readonly regionList: Region[] = [];
  private nextFreeAddress = PAGE_BYTES;
  /** Views over memory.buffer; the memory never grows, so they stay valid. */
  readonly u8: Uint8Array;
  readonly view: DataView;

  constructor(capacityBytes = 1 << 20) {
    const pages = Math.max(1, Math.ceil(capacityBytes / WASM_PAGE_BYTES));
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    this.capacityBytes = pages * WASM_PAGE_BYTES;
    this.u8 = new Uint8Array(this.memory.buffer);
    this.view = new DataView(this.memory.buffer);
  }

  get regions(): readonly Region[] {
    return this.regionList;
  }

  /** Map a zero-filled region of `sizeBytes` and return it. */
  map(name: string, sizeBytes: number, options: MapOptions = {}): Region {
    const alignBytes = options.alignBytes ?? PAGE_BYTES;
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0) {
      throw new AddressSpaceError(`region "${name}": invalid size ${sizeBytes}`);
    }
    if (alignBytes <= 0 || (alignBytes & (alignBytes - 1)) !== 0) {
      throw new AddressSpaceError(`region "${name}": alignment ${alignBytes} is not a power of two`);
    }
    const base = Math.ceil(this.nextFreeAddress / alignBytes) * alignBytes;
    if (base + sizeBytes > this.capacityBytes) {
      throw new AddressSpaceError(
        `region "${name}" of ${sizeBytes} bytes does not fit: ${this.capacityBytes - base} bytes left of ${this.capacityBytes}`,
      );
    }
    this.u8.fill(0, base, base + sizeBytes);
    const region: Region = { name, base, sizeBytes, writable: options.writable ?? true };
    this.regionList.push(region);
    // A guard gap of at least 16 bytes separates regions so that an overrun faults.
    this.nextFreeAddress = base + sizeBytes + 16;
    return region;
  }

  /** Map a region holding a copy of `data`. */
  mapBytes(name: string, data: Uint8Array, options: MapOptions = {}): Region {
    const region = this.map(name, data.length, options);
    this.u8.set(data, region.base);
    return region;
  }

  /** The region that holds all of [address, address + length), if any. */
  find(address: number, length: number): Region | undefined {
    for (const r of this.regionList) {
      if (address >= r.base && address + length <= r.base + r.sizeBytes) return r;
    }
    return undefined;
  }

  /** A live view of a region's bytes. */
  bytes(region: Region): Uint8Array {
    return this.u8.subarray(region.base, region.base + region.sizeBytes);
  }

  /** Unmap everything (bytes are zeroed again when re-mapped). */
  reset(): void {
    this.regionList.length = 0;
    this.nextFreeAddress = PAGE_BYTES;
  }
}
