// `--trace` support for the interpreter: one line per executed instruction with
// its index, its disassembly and the registers it changed.

import { disassembleInsn } from '../asm/disasm.ts';
import type { Insn } from '../isa.ts';
import { getBig } from './ops.ts';

export type TraceSink = (line: string) => void;
export type InsnFormatter = (insns: readonly Insn[], pc: number) => string;

/** The raw fields of a slot: the fallback if the disassembler fails. */
export function rawInsnText(insns: readonly Insn[], pc: number): string {
  const i = insns[pc];
  if (i === undefined) return '<outside the program>';
  return `op=0x${i.code.toString(16).padStart(2, '0')} dst=r${i.dst} src=r${i.src} off=${i.off} imm=${i.imm}`;
}

const REG_INTS = 22;

export class Tracer {
  private readonly previous = new Int32Array(REG_INTS);
  private pending = -1;

  constructor(
    private readonly insns: readonly Insn[],
    private readonly sink: TraceSink,
    private readonly format: InsnFormatter = disassembleInsn,
  ) {}

  /** Called before executing `pc`: reports the previous instruction, then snapshots. */
  before(pc: number, R: Int32Array): void {
    if (this.pending >= 0) this.emit(R);
    this.previous.set(R.subarray(0, REG_INTS));
    this.pending = pc;
  }

  /** Called when the run ends (exit or fault): reports the last instruction. */
  finish(R: Int32Array): void {
    if (this.pending >= 0) this.emit(R);
    this.pending = -1;
  }

  private emit(R: Int32Array): void {
    const changes: string[] = [];
    for (let r = 0; r < 11; r++) {
      if (R[2 * r] !== this.previous[2 * r] || R[2 * r + 1] !== this.previous[2 * r + 1]) {
        changes.push(`r${r}=0x${getBig(R, 2 * r).toString(16)}`);
      }
    }
    let text: string;
    try {
      text = this.format(this.insns, this.pending);
    } catch {
      text = rawInsnText(this.insns, this.pending);
    }
    const line = `${String(this.pending).padStart(5)}: ${text}`;
    this.sink(changes.length > 0 ? `${line.padEnd(44)} ; ${changes.join(' ')}` : line);
  }
}
