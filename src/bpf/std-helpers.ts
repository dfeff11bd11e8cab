// The standard helpers storage functions may call, with Linux's ids and
// return conventions: map lookup/update/delete (1, 2, 3), ktime (5) from an
// injected clock, trace_printk (6) captured into a list of lines, and
// prandom (7) from a seeded generator, so a run is reproducible.

import { XrpError } from '../base/errors.ts';
import type { Helper, HelperEnv, HelperFn } from './helpers.ts';
import type { BpfMap, MapSet } from './maps.ts';
import { Errno } from './maps.ts';

export const HelperId = {
  MAP_LOOKUP_ELEM: 1,
  MAP_UPDATE_ELEM: 2,
  MAP_DELETE_ELEM: 3,
  KTIME_GET_NS: 5,
  TRACE_PRINTK: 6,
  GET_PRANDOM_U32: 7,
} as const;

/** trace_printk takes at most three arguments and, as in Linux, its output is bounded. */
const PRINTK_OUTPUT_BYTES_MAX = 1024;
const PRINTK_STRING_BYTES_MAX = 512;

/** A helper given an argument it cannot use (a bad map pointer or an unmapped buffer). */
export class HelperError extends XrpError {
  constructor(helperName: string, message: string) {
    super('HELPER', `${helperName}: ${message}`);
  }
}

export interface StdHelperOptions {
  /** the maps a program's map pointers refer to (from linkProgram) */
  maps: MapSet;
  /** virtual time for bpf_ktime_get_ns; without it the helper is not registered */
  clockNs?: () => bigint;
  /** seed of bpf_get_prandom_u32's generator (default 1) */
  seed?: number;
  /** a u32 source that replaces the built-in generator (for example the simulator's PRNG) */
  randomU32?: () => number;
}

export interface StdHelpers {
  readonly table: Map<number, Helper>;
  /** every bpf_trace_printk output, one entry per call, trailing newline removed */
  readonly traceLines: string[];
}

/** xoshiro128** seeded through splitmix32: small, fast, and fully determined by the seed. */
export function seededU32(seed: number): () => number {
  let x = seed >>> 0;
  const split = (): number => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let s0 = split();
  let s1 = split();
  let s2 = split();
  let s3 = split();
  return () => {
    const result = Math.imul(((Math.imul(s1, 5) << 7) | (Math.imul(s1, 5) >>> 25)) >>> 0, 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = ((s3 << 11) | (s3 >>> 21)) >>> 0;
    return result;
  };
}

function readBytes(env: HelperEnv, helper: string, what: string, address: bigint, length: number): Uint8Array {
  const at = Number(BigInt.asUintN(53, address));
  if (address > BigInt(Number.MAX_SAFE_INTEGER) || env.memory.find(at, length) === undefined) {
    throw new HelperError(helper, `${what} at 0x${address.toString(16)} (${length} bytes) is not mapped memory`);
  }
  return env.memory.u8.slice(at, at + length);
}

function mapArg(maps: MapSet, helper: string, address: bigint): BpfMap {
  const map = maps.fromHandle(address);
  if (map === undefined) throw new HelperError(helper, `0x${address.toString(16)} is not a map pointer`);
  return map;
}

const s32 = (value: bigint): bigint => BigInt.asIntN(32, value);
/** A negative errno as the 64-bit r0. */
const errno = (negative: number): bigint => BigInt.asUintN(64, BigInt(negative));

/**
 * Format like the kernel's bpf_trace_printk: %d %i %u %x %X %c %p %s with an
 * optional l/ll, flags '-' '0' and a width; at most three arguments.
 * Returns undefined for a format the kernel would reject (-EINVAL).
 */
export function formatPrintk(fmt: string, args: readonly bigint[], readString: (address: bigint) => string): string | undefined {
  let out = '';
  let argIndex = 0;
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt.charAt(i);
    if (c !== '%') {
      out += c;
      continue;
    }
    i++;
    if (fmt[i] === '%') {
      out += '%';
      continue;
    }
    let leftAlign = false;
    let zeroPad = false;
    while (fmt[i] === '-' || fmt[i] === '0') {
      if (fmt[i] === '-') leftAlign = true;
      else zeroPad = true;
      i++;
    }
    let width = 0;
    for (let d = fmt[i]; d !== undefined && d >= '0' && d <= '9'; d = fmt[++i]) width = width * 10 + Number(d);
    let longs = 0;
    while (fmt[i] === 'l' && longs < 2) {
      longs++;
      i++;
    }
    const conv = fmt[i];
    if (conv === undefined || !'diuxXcps'.includes(conv)) return undefined;
    if (argIndex >= 3) return undefined;
    const arg = args[argIndex++] ?? 0n;
    const bits = longs > 0 || conv === 'p' || conv === 's' ? 64 : 32;
    let text: string;
    switch (conv) {
      case 'd':
      case 'i':
        text = BigInt.asIntN(bits, arg).toString();
        break;
      case 'u':
        text = BigInt.asUintN(bits, arg).toString();
        break;
      case 'x':
        text = BigInt.asUintN(bits, arg).toString(16);
        break;
      case 'X':
        text = BigInt.asUintN(bits, arg).toString(16).toUpperCase();
        break;
      case 'c':
        text = String.fromCharCode(Number(arg & 0xffn));
        break;
      case 'p':
        text = `0x${BigInt.asUintN(64, arg).toString(16)}`;
        break;
      default:
        text = readString(arg);
    }
    if (text.length < width) {
      const gap = width - text.length;
      if (leftAlign) text += ' '.repeat(gap);
      else if (!zeroPad || conv === 's' || conv === 'c') text = ' '.repeat(gap) + text;
      else if (text.startsWith('-')) text = `-${'0'.repeat(gap)}${text.slice(1)}`;
      else text = '0'.repeat(gap) + text;
    }
    out += text;
  }
  return out;
}

export function createStdHelpers(options: StdHelperOptions): StdHelpers {
  const { maps } = options;
  const traceLines: string[] = [];
  const randomU32 = options.randomU32 ?? seededU32(options.seed ?? 1);
  const table = new Map<number, Helper>();
  const add = (id: number, name: string, fn: HelperFn): void => {
    table.set(id, { id, name, fn });
  };

  add(HelperId.MAP_LOOKUP_ELEM, 'bpf_map_lookup_elem', (r1, r2, _r3, _r4, _r5, env) => {
    const map = mapArg(maps, 'bpf_map_lookup_elem', r1);
    const key = readBytes(env, 'bpf_map_lookup_elem', 'key', r2, map.spec.keySizeBytes);
    return BigInt(map.lookup(key));
  });
  add(HelperId.MAP_UPDATE_ELEM, 'bpf_map_update_elem', (r1, r2, r3, r4, _r5, env) => {
    const map = mapArg(maps, 'bpf_map_update_elem', r1);
    const key = readBytes(env, 'bpf_map_update_elem', 'key', r2, map.spec.keySizeBytes);
    const value = readBytes(env, 'bpf_map_update_elem', 'value', r3, map.spec.valueSizeBytes);
    const flags = r4 > 0xffffffffn ? -1 : Number(r4);
    return errno(map.update(key, value, flags, true));
  });
  add(HelperId.MAP_DELETE_ELEM, 'bpf_map_delete_elem', (r1, r2, _r3, _r4, _r5, env) => {
    const map = mapArg(maps, 'bpf_map_delete_elem', r1);
    const key = readBytes(env, 'bpf_map_delete_elem', 'key', r2, map.spec.keySizeBytes);
    return errno(map.delete(key));
  });
  if (options.clockNs !== undefined) {
    const clockNs = options.clockNs;
    add(HelperId.KTIME_GET_NS, 'bpf_ktime_get_ns', () => BigInt.asUintN(64, clockNs()));
  }
  add(HelperId.TRACE_PRINTK, 'bpf_trace_printk', (r1, r2, r3, r4, r5, env) => {
    const sizeBytes = Number(s32(r2));
    if (sizeBytes <= 0 || sizeBytes > PRINTK_OUTPUT_BYTES_MAX) return errno(-Errno.EINVAL);
    const fmtBytes = readBytes(env, 'bpf_trace_printk', 'format', r1, sizeBytes);
    const nul = fmtBytes.indexOf(0);
    if (nul < 0) return errno(-Errno.EINVAL); // the kernel requires the terminating NUL within fmt_size
    const fmt = Buffer.from(fmtBytes.subarray(0, nul)).toString('latin1');
    const readString = (address: bigint): string => {
      const at = Number(BigInt.asUintN(53, address));
      let s = '';
      for (let i = 0; i < PRINTK_STRING_BYTES_MAX; i++) {
        if (env.memory.find(at + i, 1) === undefined) return s === '' ? '(efault)' : s;
        const byte = env.memory.u8[at + i];
        if (byte === undefined) return s === '' ? '(efault)' : s; // a region past the end of the memory view
        if (byte === 0) break;
        s += String.fromCharCode(byte);
      }
      return s;
    };
    const text = formatPrintk(fmt, [r3, r4, r5], readString);
    if (text === undefined) return errno(-Errno.EINVAL);
    const bounded = text.slice(0, PRINTK_OUTPUT_BYTES_MAX);
    traceLines.push(bounded.endsWith('\n') ? bounded.slice(0, -1) : bounded);
    return BigInt(bounded.length);
  });
  add(HelperId.GET_PRANDOM_U32, 'bpf_get_prandom_u32', () => BigInt(randomU32() >>> 0));

  return { table, traceLines };
}
