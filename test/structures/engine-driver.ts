// A test-only XRP driver for the structures' storage functions, without the
// kernel: the program is loaded as production loads it (loadProgram: verifier
// type xrp, then the JIT or the interpreter), a 280-byte struct bpf_xrp, a data
// page and a scratch page are mapped into one AddressSpace, and the program runs
// on every block read from a BlockSource, following next_addr[0] as the NVMe
// hook does, with a resubmission limit like read_xrp's (reads after the first).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadElf } from '../../src/bpf/elf/elf.ts';
import { createExecEnv, type Engine, type ExecEnv } from '../../src/bpf/engine.ts';
import { linkProgram } from '../../src/bpf/elf/link.ts';
import { loadProgram } from '../../src/bpf/load.ts';
import { AddressSpace, type Region } from '../../src/bpf/memory.ts';
import { createStdHelpers } from '../../src/bpf/std-helpers.ts';
import type { BlockSource } from '../../src/structures/io.ts';

const CTX_BYTES = 280;
const PAGE = 4096;

export const objectPath = (name: string): string => fileURLToPath(new URL(`../../bpf/structures/${name}`, import.meta.url));

export interface DriverRun {
  status: 'done' | 'error' | 'limit';
  r0: bigint;
  /** blocks read, the first included */
  reads: number;
  /** for 'limit': the read the program asked for next */
  nextOffset?: number;
}

export class EngineDriver {
  readonly memory = new AddressSpace(1 << 20);
  private readonly ctx: Region;
  private readonly data: Region;
  private readonly scratch: Region;
  private readonly env: ExecEnv;
  private readonly engine: Engine;

  constructor(objectFile: string, programName: string, engine: 'jit' | 'interp' = 'jit') {
    const path = objectPath(objectFile);
    const object = loadElf(readFileSync(path), path);
    const linked = linkProgram(object, programName, this.memory);
    this.engine = loadProgram(linked.program, { type: 'xrp', maps: linked.mapSpecs, source: linked.source, engine }).engine;
    this.env = createExecEnv(this.memory, createStdHelpers({ maps: linked.maps }).table);
    this.ctx = this.memory.map('ctx', CTX_BYTES);
    this.data = this.memory.map('data', PAGE);
    this.scratch = this.memory.map('scratch', PAGE);
  }

  /** The scratch page, live. */
  get scratchBytes(): Uint8Array {
    return this.memory.bytes(this.scratch);
  }

  /** One request: a 512-byte read at `offsetBytes`, then resubmissions, at most `resubmitLimit` of them. */
  run(source: BlockSource, offsetBytes: number, resubmitLimit = 1 << 30): DriverRun {
    const view = this.memory.view;
    const data = this.memory.bytes(this.data);
    let offset = offsetBytes;
    let size = 512;
    for (let reads = 1; ; reads++) {
      data.fill(0);
      const got = source.pread(data.subarray(0, size), offset);
      if (got !== size) throw new Error(`driver read ${reads}: ${got} of ${size} bytes at offset ${offset}`);
      this.memory.bytes(this.ctx).fill(0);
      view.setBigUint64(this.ctx.base + 264, BigInt(this.data.base), true);
      view.setBigUint64(this.ctx.base + 272, BigInt(this.scratch.base), true);
      const r0 = this.engine.run(this.env, [BigInt(this.ctx.base)]).r0;
      if (r0 !== 0n) return { status: 'error', r0, reads };
      if (view.getInt32(this.ctx.base, true) !== 0) return { status: 'done', r0, reads };
      const next = Number(view.getBigUint64(this.ctx.base + 8, true));
      const nextSize = Number(view.getBigUint64(this.ctx.base + 136, true));
      size = nextSize === 0 ? 512 : nextSize;
      if (reads > resubmitLimit) return { status: 'limit', r0, reads, nextOffset: next };
      offset = next;
    }
  }
}
