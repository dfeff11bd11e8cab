// The verifier's soundness check, shared by the property test and the long
// fuzzing script: programs that are *not necessarily safe* (random programs of
// gen.ts, their mutations, mutations of real storage functions, random bytes)
// go through the verifier; every accepted one runs on the bounds-checked
// interpreter with random inputs and must neither fault nor run away.

import { createExecEnv, ExecutionFault } from '../bpf/engine.ts';
import { MapSet } from '../bpf/maps.ts';
import { createStdHelpers } from '../bpf/std-helpers.ts';
import { generateProgram, GenRng } from './program-gen.ts';
import { createInterpreter } from '../bpf/interp/interp.ts';
import { decode, insn, type Insn } from '../bpf/isa.ts';
import { AddressSpace } from '../bpf/memory.ts';
import { XRP_CTX_BYTES, XRP_PAGE_BYTES } from '../bpf/verifier/types.ts';
import { verify, type VerifierResult } from '../bpf/verifier/verifier.ts';
import { at, present } from '../base/checked.ts';

/** Executed-instruction limit of a run: far above what any accepted small program can execute. */
const RUN_INSNS_MAX = 2_000_000;
/** Processed-instruction limit for candidates: they are small, so a lower limit only rejects runaway explorations sooner. */
export const CANDIDATE_INSNS_MAX = 5_000;

export interface Candidate {
  /** where it came from, to reproduce a failure */
  label: string;
  insns: Insn[];
  type: 'xrp' | 'mem';
  /** mem programs: buffer size (r2) */
  memSizeBytes: number;
}

export interface SoundnessOutcome {
  accepted: boolean;
  /** set when an accepted program faulted or ran away, or the verifier failed internally: a bug */
  violation?: string;
  result: VerifierResult;
}

const OPCODES = [
  0x07, 0x0f, 0x17, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x47, 0x4f, 0x57, 0x5f, 0x67, 0x6f, 0x77, 0x7f, 0x87, 0x97, 0x9f, 0xa7, 0xaf, 0xb7, 0xbf, 0xc7, 0xcf,
  0x04, 0x0c, 0x14, 0x1c, 0x24, 0x34, 0x44, 0x54, 0x5c, 0x64, 0x74, 0x84, 0x94, 0xa4, 0xb4, 0xbc, 0xc4, 0xd4, 0xdc, 0xd7,
  0x05, 0x15, 0x1d, 0x25, 0x2d, 0x35, 0x3d, 0x45, 0x55, 0x5d, 0x65, 0x6d, 0x75, 0xa5, 0xad, 0xb5, 0xc5, 0xd5, 0x16, 0x1e, 0x26, 0xa6, 0xb6,
  0x61, 0x69, 0x71, 0x79, 0x81, 0x89, 0x91, 0x62, 0x6a, 0x72, 0x7a, 0x63, 0x6b, 0x73, 0x7b, 0xc3, 0xdb, 0x95, 0x85,
];

/** One random change: offset, immediate, register, opcode, or a swap of neighbours. */
export function mutate(insns: readonly Insn[], rng: GenRng): Insn[] {
  const out = insns.map((i) => ({ ...i }));
  const count = rng.between(1, 3);
  for (let k = 0; k < count && out.length > 0; k++) {
    const pc = rng.below(out.length);
    const i = at(out, pc, 'instruction to mutate');
    switch (rng.below(7)) {
      case 0:
        out[pc] = insn(i.code, i.dst, i.src, i.off + rng.pick([-8, -4, -1, 1, 4, 8, 512, 4096, -512]), i.imm);
        break;
      case 1:
        out[pc] = insn(i.code, i.dst, i.src, i.off, rng.chance(0.5) ? i.imm + rng.between(-2, 2) : rng.pick([0, 1, 7, 8, 31, 32, 63, 255, 4095, 4096, -1]));
        break;
      case 2:
        out[pc] = insn(i.code, rng.chance(0.5) ? rng.below(11) : i.dst, rng.chance(0.5) ? rng.below(11) : i.src, i.off, i.imm);
        break;
      case 3:
        out[pc] = insn(rng.pick(OPCODES), i.dst, i.src, i.off, i.imm);
        break;
      case 4:
        if (pc + 1 < out.length) {
          out[pc] = at(out, pc + 1, 'instruction to swap');
          out[pc + 1] = i;
        }
        break;
      case 5:
        out.splice(pc, 1);
        break;
      default:
        out[pc] = insn(i.code, i.dst, i.src, rng.between(-4, 4), i.imm);
    }
  }
  return out;
}

/** The k-th candidate of a seeded stream: generated programs, their mutations, mutations of `corpus`, and random bytes. */
export function candidate(seed: number, corpus: readonly Candidate[]): Candidate {
  const rng = new GenRng(seed ^ 0x5eed);
  const kind = rng.below(10);
  if (kind <= 2 || corpus.length === 0) {
    const g = generateProgram({ seed, bodyInsns: rng.between(10, 40) });
    const insns = kind === 0 ? g.insns : mutate(g.insns, rng);
    return { label: `gen seed ${seed}${kind === 0 ? '' : ' mutated'}`, insns, type: 'mem', memSizeBytes: g.bufferBytes };
  }
  if (kind <= 8) {
    const base = at(corpus, rng.below(corpus.length), 'corpus program');
    return { ...base, label: `${base.label} mutated (seed ${seed})`, insns: mutate(base.insns, rng) };
  }
  const bytes = rng.bytes(8 * rng.between(1, 24));
  return { label: `random bytes (seed ${seed})`, insns: decode(bytes), type: rng.chance(0.5) ? 'xrp' : 'mem', memSizeBytes: 64 };
}

/** Verify a candidate; if accepted, run it `runs` times on random inputs and report any fault. */
export function checkCandidate(c: Candidate, rng: GenRng, runs = 2, insnLimit = CANDIDATE_INSNS_MAX): SoundnessOutcome {
  const result = verify({ name: c.label, insns: c.insns }, { type: c.type, memSizeBytes: c.memSizeBytes, insnLimit });
  if (!result.ok) {
    const internal = result.error.reason.startsWith('internal verifier error');
    return { accepted: false, result, ...(internal ? { violation: `verifier failed internally: ${result.error.message}` } : {}) };
  }
  for (let run = 0; run < runs; run++) {
    const memory = new AddressSpace(1 << 17);
    // every helper the verifier lets a candidate call (it has no maps, so a map
    // helper cannot pass the verifier), so that an accepted call runs as it would
    const helpers = createStdHelpers({ maps: new MapSet([], memory), clockNs: () => 1_000_000n * BigInt(run + 1), seed: rng.below(0x7fffffff) });
    const env = createExecEnv(memory, helpers.table, RUN_INSNS_MAX);
    let args: bigint[];
    if (c.type === 'mem') {
      const buffer = memory.mapBytes('buffer', rng.bytes(c.memSizeBytes), { writable: true });
      args = [BigInt(buffer.base), BigInt(c.memSizeBytes)];
    } else {
      const ctx = memory.map('ctx', XRP_CTX_BYTES, { writable: true });
      const data = memory.mapBytes('data', rng.bytes(XRP_PAGE_BYTES), { writable: true });
      const scratch = memory.mapBytes('scratch', rng.bytes(XRP_PAGE_BYTES), { writable: true });
      memory.view.setBigUint64(ctx.base + 264, BigInt(data.base), true);
      memory.view.setBigUint64(ctx.base + 272, BigInt(scratch.base), true);
      args = [BigInt(ctx.base)];
    }
    try {
      createInterpreter({ name: c.label, insns: c.insns }).run(env, args);
    } catch (error) {
      if (error instanceof ExecutionFault) return { accepted: true, result, violation: `${c.label}: accepted but ${error.message}` };
      throw error;
    }
    // the verifier must have kept the context's pointers intact
    if (c.type === 'xrp') {
      const ctx = present(memory.regions.find((r) => r.name === 'ctx'), 'the xrp context region');
      const data = present(memory.regions.find((r) => r.name === 'data'), 'the xrp data region');
      if (memory.view.getBigUint64(ctx.base + 264, true) !== BigInt(data.base)) return { accepted: true, result, violation: `${c.label}: accepted but ctx->data was overwritten` };
    }
  }
  return { accepted: true, result };
}
