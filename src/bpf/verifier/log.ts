// The verifier's log and its typed rejection. The text follows the kernel's
// verifier log: the rejected instruction with its index and disassembly, the
// reason, and the register state at that point.

import { disassembleInsn } from '../asm/disasm.ts';
import { XrpError } from '../../base/errors.ts';
import type { Insn } from '../isa.ts';

/**
 * A broken internal invariant of the verifier (a bug, not bad input). verify()
 * turns it into a rejection at the current instruction, "internal verifier error".
 */
export class VerifierInvariantError extends XrpError {
  constructor(what: string) {
    super('VERIFIER', `verifier invariant broken: ${what}`);
  }
}

export class VerifierError extends XrpError {
  constructor(
    /** name of the program */
    readonly programName: string,
    /** slot index of the rejected instruction */
    readonly pc: number,
    /** the disassembled instruction ('' when the program has no such slot) */
    readonly insnText: string,
    /** the reason, in the kernel's words where it has some */
    readonly reason: string,
    /** register and stack state at the rejected instruction ('' for structural errors) */
    readonly regState: string,
  ) {
    super('VERIFIER', `program "${programName}" rejected at insn ${pc}${insnText === '' ? '' : ` (${insnText})`}: ${reason}`);
  }
}

/** The disassembly of a slot, never throwing (garbage bytecode included). */
export function insnText(insns: readonly Insn[], pc: number): string {
  if (pc < 0 || pc >= insns.length) return '';
  try {
    return disassembleInsn(insns, pc);
  } catch {
    const i = insns[pc];
    if (i === undefined) return '';
    return `(code=0x${i.code.toString(16)} dst=${i.dst} src=${i.src} off=${i.off} imm=${i.imm})`;
  }
}

/** Lines of a rejection log. */
export function rejectionLog(error: VerifierError, processedInsns: number, trail: readonly string[]): string[] {
  const lines = [...trail];
  const insnLine = `${error.pc}: ${error.insnText}`;
  if (error.insnText !== '' && lines[lines.length - 1] !== insnLine) lines.push(insnLine);
  if (error.regState !== '') lines.push(`  ${error.regState}`);
  lines.push(error.reason);
  lines.push(`processed ${processedInsns} insns`);
  return lines;
}
