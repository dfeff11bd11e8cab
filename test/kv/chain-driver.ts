// A test-only XRP chain driver (no XRP stack yet): loads a storage function
// from its .bpf.o, maps a 280-byte struct bpf_xrp, a data page and a scratch
// page into one AddressSpace, and runs the program on the interpreter block by
// block, reading each next_addr[0] from a BlockSource, as the NVMe driver's
// completion hook will.

import { readFileSync } from 'node:fs';
import { loadElf } from '../../src/bpf/elf/elf.ts';
import { linkProgram } from '../../src/bpf/elf/link.ts';
import { createExecEnv, type ExecEnv } from '../../src/bpf/engine.ts';
import { createInterpreter } from '../../src/bpf/interp/interp.ts';
import { compileJit } from '../../src/bpf/jit/index.ts';
import type { Engine } from '../../src/bpf/engine.ts';
import { AddressSpace, type Region } from '../../src/bpf/memory.ts';
import { createStdHelpers } from '../../src/bpf/std-helpers.ts';
import type { BlockSource } from '../../src/base/block-source.ts';

const CTX_BYTES = 280;
const CTX_DONE = 0;
const CTX_NEXT_ADDR = 8;
const CTX_SIZE = 136;
const CTX_DATA = 264;
const CTX_SCRATCH = 272;

export interface ChainResult {
  /** 'done': ctx.done set; 'error': non-zero return; 'cut': hopsMax reads made, chain still going (as a resubmission limit) */
  status: 'done' | 'error' | 'cut';
  r0: bigint;
  /** blocks read, the first included */
  reads: number;
  insnsExecuted: number;
  /** offset of the read after which the chain ended */
  lastOffset: number;
  /** for 'cut': the read the program asked for next */
  nextOffset?: number;
}

export class ChainDriver {
  readonly memory = new AddressSpace(1 << 20);
  readonly ctx: Region;
  readonly data: Region;
  readonly scratch: Region;
  private readonly env: ExecEnv;
  private readonly engine: Engine;

  /** `engine`: the reference interpreter, or the WebAssembly JIT (checked: the program is not verified here). */
  constructor(objectPath: string, programName: string, engine: 'interp' | 'jit' = 'interp') {
    const object = loadElf(readFileSync(objectPath), objectPath);
    const linked = linkProgram(object, programName, this.memory);
    this.env = createExecEnv(this.memory, createStdHelpers({ maps: linked.maps }).table);
    this.engine = engine === 'jit' ? compileJit(linked.program, { checked: true }) : createInterpreter(linked.program);
    this.ctx = this.memory.map('ctx', CTX_BYTES);
    this.data = this.memory.map('data', 4096);
    this.scratch = this.memory.map('scratch', 4096);
  }

  /** The scratch page, live. */
  get scratchBytes(): Uint8Array {
    return this.memory.bytes(this.scratch);
  }

  /** Runs one chain starting with a 512-byte read at `offsetBytes`, for at most `hopsMax` reads. */
  run(source: BlockSource, offsetBytes: number, hopsMax = 1_000_000): ChainResult {
    const view = this.memory.view;
    const data = this.memory.bytes(this.data);
    let offset = offsetBytes;
    let size = 512;
    let insns = 0;
    for (let reads = 1; reads <= hopsMax; reads++) {
      data.fill(0);
      const got = source.pread(data.subarray(0, size), offset);
      if (got !== size) throw new Error(`chain read ${reads}: ${got} of ${size} bytes at offset ${offset}`);
      this.memory.bytes(this.ctx).fill(0);
      view.setBigUint64(this.ctx.base + CTX_DATA, BigInt(this.data.base), true);
      view.setBigUint64(this.ctx.base + CTX_SCRATCH, BigInt(this.scratch.base), true);
      const result = this.engine.run(this.env, [BigInt(this.ctx.base)]);
      insns += result.insnsExecuted;
      if (result.r0 !== 0n) return { status: 'error', r0: result.r0, reads, insnsExecuted: insns, lastOffset: offset };
      if (view.getInt32(this.ctx.base + CTX_DONE, true) !== 0) {
        return { status: 'done', r0: 0n, reads, insnsExecuted: insns, lastOffset: offset };
      }
      const next = view.getBigUint64(this.ctx.base + CTX_NEXT_ADDR, true);
      const nextSize = view.getBigUint64(this.ctx.base + CTX_SIZE, true);
      size = nextSize === 0n ? 512 : Number(nextSize);
      if (size > 4096 || size % 512 !== 0) throw new Error(`invalid size ${nextSize} after read ${reads}`);
      if (next > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`next_addr 0x${next.toString(16)} after read ${reads}`);
      if (reads === hopsMax) return { status: 'cut', r0: 0n, reads, insnsExecuted: insns, lastOffset: offset, nextOffset: Number(next) };
      offset = Number(next);
    }
    throw new Error(`hopsMax must be at least 1, got ${hopsMax}`);
  }
}
