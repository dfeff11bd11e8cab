// YCSB's CoreWorkload (site.ycsb.workloads.CoreWorkload), read from its own
// property files: the operation mix (read, update, insert, scan,
// read-modify-write), the request distribution (uniform, zipfian — scrambled,
// constant 0.99 — and latest), record and operation counts, field count and
// length, hashed or ordered insert keys ("user" + FNV-64 of the key number),
// scan lengths. All randomness comes from one seeded Prng.

import { Prng } from '../base/prng.ts';
import { WtError } from '../wt/errors.ts';
import {
  AcknowledgedCounter, DiscreteGenerator, fnvhash64, ScrambledZipfianGenerator, SkewedLatestGenerator, UniformLongGenerator, ZipfianGenerator,
  type LongGenerator,
} from './generators.ts';

export type OpType = 'READ' | 'UPDATE' | 'INSERT' | 'SCAN' | 'READMODIFYWRITE';
export const OP_TYPES: readonly OpType[] = ['READ', 'UPDATE', 'INSERT', 'SCAN', 'READMODIFYWRITE'];

export interface WorkloadSpec {
  recordCount: number;
  operationCount: number;
  fieldCount: number;
  fieldLength: number;
  fieldNamePrefix: string;
  readAllFields: boolean;
  writeAllFields: boolean;
  proportions: Record<OpType, number>;
  requestDistribution: 'uniform' | 'zipfian' | 'latest';
  minScanLength: number;
  maxScanLength: number;
  scanLengthDistribution: 'uniform' | 'zipfian';
  orderedInserts: boolean;
  zeroPadding: number;
  insertStart: number;
  insertCount: number;
}

/** The spec of a workload from YCSB properties (CoreWorkload's defaults for what is missing). */
export function workloadSpec(props: Map<string, string>, file = 'workload'): WorkloadSpec {
  const str = (name: string, def: string): string => props.get(name) ?? def;
  const bad = (name: string, why: string): WtError => new WtError('YCSB_PROPERTY', `${file}: ${name}=${String(props.get(name))}: ${why}`);
  const int = (name: string, def: number, min = 0): number => {
    const text = props.get(name);
    if (text === undefined) return def;
    const v = Number(text.trim());
    if (!Number.isSafeInteger(v) || v < min) throw bad(name, `must be an integer >= ${min}`);
    return v;
  };
  const num = (name: string, def: number): number => {
    const text = props.get(name);
    if (text === undefined) return def;
    const v = Number(text.trim());
    if (!Number.isFinite(v) || v < 0) throw bad(name, 'must be a non-negative number');
    return v;
  };
  const bool = (name: string, def: boolean): boolean => {
    const text = props.get(name);
    return text === undefined ? def : text.trim().toLowerCase() === 'true';
  };
  const workload = str('workload', 'site.ycsb.workloads.CoreWorkload').trim();
  if (!/(^|\.)CoreWorkload$/.test(workload)) throw bad('workload', 'only CoreWorkload is supported');
  const dist = str('requestdistribution', 'uniform').trim();
  if (dist !== 'uniform' && dist !== 'zipfian' && dist !== 'latest') throw bad('requestdistribution', 'supported: uniform, zipfian, latest');
  const scanDist = str('scanlengthdistribution', 'uniform').trim();
  if (scanDist !== 'uniform' && scanDist !== 'zipfian') throw bad('scanlengthdistribution', 'supported: uniform, zipfian');
  const fieldLengthDist = str('fieldlengthdistribution', 'constant').trim();
  if (fieldLengthDist !== 'constant') throw bad('fieldlengthdistribution', 'only constant is supported');
  let recordCount = int('recordcount', 0);
  if (recordCount === 0) recordCount = 2 ** 31 - 1;
  const insertStart = int('insertstart', 0);
  const insertCount = int('insertcount', recordCount - insertStart);
  if (recordCount < insertStart + insertCount) throw bad('insertcount', 'recordcount must be at least insertstart + insertcount');
  const spec: WorkloadSpec = {
    recordCount,
    operationCount: int('operationcount', 0),
    fieldCount: int('fieldcount', 10, 1),
    fieldLength: int('fieldlength', 100, 1),
    fieldNamePrefix: str('fieldnameprefix', 'field'),
    readAllFields: bool('readallfields', true),
    writeAllFields: bool('writeallfields', false),
    proportions: {
      READ: num('readproportion', 0.95),
      UPDATE: num('updateproportion', 0.05),
      INSERT: num('insertproportion', 0),
      SCAN: num('scanproportion', 0),
      READMODIFYWRITE: num('readmodifywriteproportion', 0),
    },
    requestDistribution: dist,
    minScanLength: int('minscanlength', 1, 1),
    maxScanLength: int('maxscanlength', 1000, 1),
    scanLengthDistribution: scanDist,
    orderedInserts: str('insertorder', 'hashed').trim() !== 'hashed',
    zeroPadding: int('zeropadding', 1, 1),
    insertStart,
    insertCount,
  };
  if (Object.values(spec.proportions).every((p) => p === 0)) throw bad('readproportion', 'every operation proportion is 0');
  return spec;
}

export interface Operation {
  type: OpType;
  keyNum: number;
  key: Uint8Array;
  /** UPDATE / READMODIFYWRITE: the field written (null: all); READ: the field read (null: all) */
  field: number | null;
  /** SCAN */
  scanLength: number;
}

const encoder = new TextEncoder();

/** CoreWorkload.buildKeyName. */
export function buildKeyName(keyNum: number, zeroPadding: number, ordered: boolean): string {
  const n = ordered ? BigInt(keyNum) : fnvhash64(BigInt(keyNum));
  const value = n.toString();
  return `user${'0'.repeat(Math.max(0, zeroPadding - value.length))}${value}`;
}

/** The state of one workload run: generators over one Prng, shared by every client thread. */
export class CoreWorkload {
  readonly rng: Prng;
  private keySequence: number;
  private readonly insertSequence: AcknowledgedCounter;
  private readonly keyChooser: LongGenerator;
  private readonly fieldChooser: UniformLongGenerator;
  private readonly scanLength: LongGenerator;
  private readonly opChooser: DiscreteGenerator<OpType>;

  constructor(readonly spec: WorkloadSpec, seed: number) {
    this.rng = new Prng(seed);
    const s = spec;
    this.keySequence = s.insertStart;
    this.insertSequence = new AcknowledgedCounter(s.recordCount);
    if (s.requestDistribution === 'uniform') this.keyChooser = new UniformLongGenerator(this.rng, s.insertStart, s.insertStart + s.insertCount - 1);
    else if (s.requestDistribution === 'zipfian') {
      const expectedNewKeys = Math.floor(s.operationCount * s.proportions.INSERT * 2);
      this.keyChooser = new ScrambledZipfianGenerator(this.rng, s.insertStart, s.insertStart + s.insertCount + expectedNewKeys);
    } else this.keyChooser = new SkewedLatestGenerator(this.rng, this.insertSequence);
    this.fieldChooser = new UniformLongGenerator(this.rng, 0, s.fieldCount - 1);
    this.scanLength = s.scanLengthDistribution === 'uniform'
      ? new UniformLongGenerator(this.rng, s.minScanLength, s.maxScanLength)
      : new ZipfianGenerator(this.rng, s.minScanLength, s.maxScanLength);
    this.opChooser = new DiscreteGenerator(this.rng, OP_TYPES.filter((t) => s.proportions[t] > 0).map((t) => ({ value: t, weight: s.proportions[t] })));
  }

  key(keyNum: number): Uint8Array {
    return encoder.encode(buildKeyName(keyNum, this.spec.zeroPadding, this.spec.orderedInserts));
  }

  /** The next record of the load phase, or null when all are loaded. */
  nextLoadKey(): { keyNum: number; key: Uint8Array } | null {
    if (this.keySequence >= this.spec.insertStart + this.spec.insertCount) return null;
    const keyNum = this.keySequence++;
    return { keyNum, key: this.key(keyNum) };
  }

  /** A record of fieldcount fields of fieldlength random printable bytes. */
  buildRecord(): Uint8Array[] {
    const fields: Uint8Array[] = [];
    for (let f = 0; f < this.spec.fieldCount; f++) fields.push(this.randomField());
    return fields;
  }

  randomField(): Uint8Array {
    const out = new Uint8Array(this.spec.fieldLength);
    for (let i = 0; i < out.length; i += 4) {
      let r = this.rng.nextU32();
      for (let j = i; j < Math.min(out.length, i + 4); j++) {
        out[j] = 33 + (r & 0x3f); // printable, as RandomByteIterator's
        r >>>= 8;
      }
    }
    return out;
  }

  private nextKeyNum(): number {
    for (;;) {
      const k = this.keyChooser.next();
      if (k <= this.insertSequence.lastValue()) return k;
    }
  }

  /** The next operation of the run phase. */
  nextOperation(): Operation {
    const type = this.opChooser.next();
    if (type === 'INSERT') {
      const keyNum = this.insertSequence.next();
      return { type, keyNum, key: this.key(keyNum), field: null, scanLength: 0 };
    }
    const keyNum = this.nextKeyNum();
    const key = this.key(keyNum);
    if (type === 'SCAN') return { type, keyNum, key, field: null, scanLength: this.scanLength.next() };
    const field = type === 'READ' ? (this.spec.readAllFields ? null : this.fieldChooser.next()) : this.spec.writeAllFields ? null : this.fieldChooser.next();
    return { type, keyNum, key, field, scanLength: 0 };
  }

  /** An insert of the run phase has completed. */
  acknowledgeInsert(keyNum: number): void {
    this.insertSequence.acknowledge(keyNum);
  }
}

/** Records: per field, name length u8, name, value length u16, value. */
export function encodeRecord(prefix: string, fields: readonly Uint8Array[]): Uint8Array {
  const named = fields.map((f, i) => ({ f, name: encoder.encode(`${prefix}${i}`) }));
  const size = named.reduce((s, { f, name }) => s + 3 + name.length + f.length, 0);
  const out = new Uint8Array(size);
  let at = 0;
  for (const { f, name } of named) {
    out[at] = name.length;
    out.set(name, at + 1);
    at += 1 + name.length;
    out[at] = f.length & 0xff;
    out[at + 1] = f.length >> 8;
    out.set(f, at + 2);
    at += 2 + f.length;
  }
  return out;
}

export function decodeRecord(bytes: Uint8Array): Uint8Array[] {
  const fields: Uint8Array[] = [];
  let at = 0;
  for (let nameLen = bytes[at]; nameLen !== undefined; nameLen = bytes[at]) {
    at += 1 + nameLen;
    const lo = bytes[at];
    const hi = bytes[at + 1];
    if (lo === undefined || hi === undefined) throw new WtError('WT_CORRUPT', `record: field ${fields.length} runs past the record's ${bytes.length} bytes`);
    const len = lo | (hi << 8);
    at += 2;
    if (at + len > bytes.length) throw new WtError('WT_CORRUPT', `record: field ${fields.length} runs past the record's ${bytes.length} bytes`);
    fields.push(bytes.subarray(at, at + len));
    at += len;
  }
  return fields;
}
