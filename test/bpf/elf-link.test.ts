// Linking objects into a run and executing them: maps in the AddressSpace, global
// data, subprogram calls and the standard helpers, on the reference interpreter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadElf, MapType, type BpfObject, type MapSpec } from '../../src/bpf/elf/elf.ts';
import { createExecEnv } from '../../src/bpf/engine.ts';
import { createInterpreter } from '../../src/bpf/interp/interp.ts';
import { ldImm64, LdImm64Src, insn, InsnClass, JmpOp } from '../../src/bpf/isa.ts';
import { LinkError, linkProgram } from '../../src/bpf/elf/link.ts';
import { Errno, MapError, MapSet, UpdateFlag } from '../../src/bpf/maps.ts';
import { AddressSpace } from '../../src/bpf/memory.ts';
import { createStdHelpers, formatPrintk, HelperError, HelperId, seededU32 } from '../../src/bpf/std-helpers.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const load = (path: string): BpfObject => loadElf(readFileSync(root + path), path);
const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);
const u64 = (n: bigint): Uint8Array => new Uint8Array(new BigUint64Array([n]).buffer);

/** A struct bpf_xrp context, a data page and a scratch page, as the XRP hook sets them up. */
function xrpRun(memory: AddressSpace) {
  const ctx = memory.map('ctx', 280);
  const data = memory.map('data', 4096);
  const scratch = memory.map('scratch', 4096);
  memory.view.setBigUint64(ctx.base + 264, BigInt(data.base), true);
  memory.view.setBigUint64(ctx.base + 272, BigInt(scratch.base), true);
  return { ctx, data, scratch };
}

test('lookup.bpf.o runs: .text subprogram, .rodata/.data/.bss, array and hash maps', () => {
  const object = load('bpf/examples/lookup.bpf.o');
  const memory = new AddressSpace();
  const linked = linkProgram(object, 'lookup', memory);
  // The runnable program has no pseudo loads left; the source keeps them for the verifier.
  assert.ok(linked.program.insns.every((i) => i.code !== 0x18 || i.src === LdImm64Src.IMM64));
  assert.equal(linked.source.insns.filter((i) => i.code === 0x18 && i.src === LdImm64Src.MAP_BY_IDX).length, 2);
  assert.equal(linked.mapSpecs, object.maps);

  const { table } = createStdHelpers({ maps: linked.maps });
  const env = createExecEnv(memory, table);
  const { ctx, data, scratch } = xrpRun(memory);
  for (let i = 0; i < 64; i++) memory.view.setBigUint64(data.base + i * 8, BigInt(i * 10), true);
  const engine = createInterpreter(linked.program);

  const lookupOnce = (key: bigint): number => {
    memory.view.setBigUint64(scratch.base, key, true);
    memory.view.setInt32(ctx.base, 0, true);
    const result = engine.run(env, [BigInt(ctx.base)]);
    assert.equal(result.r0, 0n);
    assert.equal(memory.view.getInt32(ctx.base, true), 1, 'done');
    assert.equal(memory.view.getBigUint64(scratch.base + 16, true), 0xfeedfacecafebeefn, '.data sentinel copied');
    return Number(memory.view.getBigUint64(scratch.base + 8, true));
  };
  assert.equal(lookupOnce(95n), 10);
  assert.equal(lookupOnce(0n), 0);
  assert.equal(lookupOnce(630n), 63);
  assert.equal(lookupOnce(631n), 64);

  const maps = linked.maps;
  assert.equal(maps.read(maps.byName('visits'), u32(0))!.length, 8);
  assert.equal(Buffer.from(maps.read(maps.byName('visits'), u32(0))!).readBigUInt64LE(), 4n);
  assert.equal(Buffer.from(maps.read(maps.byName('.bss'), u32(0))!).readBigUInt64LE(), 4n, 'calls in .bss');
  const found = maps.byName('found');
  assert.equal(found.size(), 4);
  assert.equal(Buffer.from(maps.read(found, u64(95n))!).readUInt32LE(), 10);
  assert.equal(Buffer.from(maps.read(found, u64(631n))!).readUInt32LE(), 64);
  assert.equal(maps.read(found, u64(96n)), undefined);
  // The host can change .rodata before a run, as libbpf's skeletons do: keys_per_block = 5.
  memory.view.setUint32(maps.byName('.rodata').values.base, 5, true);
  assert.equal(lookupOnce(1000n), 5);
});

test('chain.bpf.o follows a chain of next pointers like the XRP hook would', () => {
  const object = load('bpf/examples/chain.bpf.o');
  const memory = new AddressSpace();
  const linked = linkProgram(object, 'xrp', memory);
  const env = createExecEnv(memory, createStdHelpers({ maps: linked.maps }).table);
  const { ctx, data, scratch } = xrpRun(memory);
  const engine = createInterpreter(linked.program);
  // A file of 16 blocks of 512 bytes: block b points to (b * 5 + 3) % 16, and block 9 ends the chain.
  const file = Buffer.alloc(16 * 512);
  for (let b = 0; b < 16; b++) file.writeBigUInt64LE(b === 9 ? 0n : BigInt(((b * 5 + 3) % 16) * 512), b * 512);
  let offset = 0;
  const visited: number[] = [];
  for (let hop = 0; hop < 32; hop++) {
    visited.push(offset / 512);
    memory.u8.set(file.subarray(offset, offset + 512), data.base);
    const { r0 } = engine.run(env, [BigInt(ctx.base)]);
    assert.equal(r0, 0n);
    if (memory.view.getInt32(ctx.base, true) !== 0) break;
    assert.equal(memory.view.getBigUint64(ctx.base + 136, true), 512n, 'size[0]');
    offset = Number(memory.view.getBigUint64(ctx.base + 8, true));
  }
  // The same walk in user space.
  const expected: number[] = [];
  for (let b = 0; ; b = (b * 5 + 3) % 16) {
    expected.push(b);
    if (b === 9) break;
  }
  assert.deepEqual(visited, expected);
  assert.equal(memory.view.getBigUint64(scratch.base, true), BigInt(expected.length), 'hops');
  assert.equal(memory.view.getBigUint64(scratch.base + 8, true), 9n * 512n, 'last');
});

test('loader.bpf.o: legacy maps, seeded prandom, captured trace_printk, nested subprograms', () => {
  const object = load('bpf/tests/loader.bpf.o');
  const memory = new AddressSpace();
  const socket = linkProgram(object, 'socket', memory);
  const first = linkProgram(object, 'xdp_first', memory, socket.maps); // shares the maps
  const second = linkProgram(object, 'xdp_second', memory, socket.maps);
  const helpers = createStdHelpers({ maps: socket.maps, seed: 42 });
  const env = createExecEnv(memory, helpers.table);
  const expectedRandom = seededU32(42);

  const r1 = createInterpreter(socket.program).run(env, [0n]);
  assert.equal(r1.r0, 1n, 'counters[0] after one bump');
  const key = BigInt(expectedRandom());
  assert.deepEqual(helpers.traceLines, [`socket ${key}`]);
  assert.equal(Buffer.from(socket.maps.read(socket.maps.byName('seen'), u64(key))!).readBigUInt64LE(), 1n);

  const mix = (x: bigint): bigint => {
    x ^= x >> 33n;
    x = BigInt.asUintN(64, x * 0xff51afd7ed558ccdn);
    return x ^ (x >> 33n);
  };
  const r2 = createInterpreter(first.program).run(env, [0n]);
  assert.equal(r2.r0, mix(mix(1n) + 1n) & 0xffffn);
  const r3 = createInterpreter(second.program).run(env, [0n]);
  assert.equal(r3.r0, 1n);
  assert.deepEqual(helpers.traceLines, [`socket ${key}`, 'second 2']);
  const strings = linkProgram(object, 'strings', memory, socket.maps);
  const engine = createInterpreter(strings.program);
  // global_twice(char_at("hello", ctx)) + global_twice(3), with ctx as the index (masked to 0..3).
  assert.equal(engine.run(env, [1n]).r0, BigInt(2 * 'e'.charCodeAt(0) + 6));
  assert.equal(engine.run(env, [4n]).r0, BigInt(2 * 'h'.charCodeAt(0) + 6));
  const counters = socket.maps.byName('counters');
  assert.deepEqual([0, 1, 2, 3].map((i) => Buffer.from(socket.maps.read(counters, u32(i))!).readBigUInt64LE()), [1n, 1n, 1n, 0n]);
});

const spec = (over: Partial<MapSpec>): MapSpec => ({
  index: 0,
  name: 'm',
  type: MapType.HASH,
  keySizeBytes: 4,
  valueSizeBytes: 8,
  maxEntries: 2,
  flags: 0,
  origin: 'btf',
  sectionName: '.maps',
  readOnly: false,
  ...over,
});

test('hash map semantics follow Linux: flags, capacity, delete and slot reuse', () => {
  const memory = new AddressSpace();
  const set = new MapSet([spec({})], memory);
  const m = set.maps[0]!;
  assert.equal(m.update(u32(1), u64(11n), UpdateFlag.EXIST, true), -Errno.ENOENT);
  assert.equal(m.update(u32(1), u64(11n), UpdateFlag.NOEXIST, true), 0);
  assert.equal(m.update(u32(1), u64(12n), UpdateFlag.NOEXIST, true), -Errno.EEXIST);
  assert.equal(m.update(u32(1), u64(13n), UpdateFlag.EXIST, true), 0);
  assert.equal(m.update(u32(2), u64(21n), UpdateFlag.ANY, true), 0);
  assert.equal(m.update(u32(3), u64(31n), UpdateFlag.ANY, true), -Errno.E2BIG);
  assert.equal(m.update(u32(3), u64(31n), 7, true), -Errno.EINVAL);
  const at1 = m.lookup(u32(1));
  assert.ok(at1 >= m.values.base && at1 < m.values.base + m.values.sizeBytes && at1 % 8 === 0);
  assert.equal(memory.view.getBigUint64(at1, true), 13n);
  assert.equal(m.delete(u32(1)), 0);
  assert.equal(m.delete(u32(1)), -Errno.ENOENT);
  assert.equal(m.lookup(u32(1)), 0);
  assert.equal(m.update(u32(3), u64(31n), UpdateFlag.ANY, true), 0, 'the freed slot is reused');
  assert.equal(m.lookup(u32(3)), at1);
  assert.equal(m.size(), 2);
  assert.equal(set.fromHandle(BigInt(m.handle)), m);
  assert.equal(set.fromHandle(BigInt(m.handle + 1)), undefined);
});

test('array map semantics follow Linux, and read-only maps refuse program updates', () => {
  const memory = new AddressSpace();
  const set = new MapSet([spec({ type: MapType.ARRAY, valueSizeBytes: 12, maxEntries: 3 }), spec({ index: 1, name: 'ro', type: MapType.ARRAY, readOnly: true, maxEntries: 1, origin: 'data', initialValue: u64(7n) })], memory);
  const [a, ro] = set.maps as [typeof set.maps[0], typeof set.maps[0]];
  assert.equal(a.strideBytes, 16, 'values are 8-byte aligned');
  assert.equal(a.lookup(u32(2)), a.values.base + 32);
  assert.equal(a.lookup(u32(3)), 0);
  assert.equal(a.update(u32(3), new Uint8Array(12), UpdateFlag.ANY, true), -Errno.E2BIG);
  assert.equal(a.update(u32(0), new Uint8Array(12), UpdateFlag.NOEXIST, true), -Errno.EEXIST);
  assert.equal(a.update(u32(1), new Uint8Array(12).fill(9), UpdateFlag.EXIST, true), 0);
  assert.equal(memory.u8[a.values.base + 16 + 11], 9);
  assert.equal(a.delete(u32(1)), -Errno.EINVAL);
  assert.equal(ro.update(u32(0), u64(1n), UpdateFlag.ANY, true), -Errno.EPERM);
  assert.equal(memory.view.getBigUint64(ro.lookup(u32(0)), true), 7n, 'initial value');
  assert.equal(ro.values.writable, false);
  assert.equal(ro.update(u32(0), u64(1n), UpdateFlag.ANY, false), 0, 'the host may still write it');
  assert.throws(() => new MapSet([spec({ type: 27 })], memory), (e: unknown) => e instanceof MapError && /map type 27 is not supported/.test(e.message));
  assert.throws(() => new MapSet([spec({ type: MapType.ARRAY, keySizeBytes: 8 })], memory), /array maps need 4-byte keys/);
  assert.throws(() => new MapSet([spec({ maxEntries: 0 })], memory), /max_entries must be positive/);
});

test('helpers check their pointers and follow the kernel return conventions', () => {
  const memory = new AddressSpace();
  const set = new MapSet([spec({})], memory);
  let nowNs = 1000n;
  const { table, traceLines } = createStdHelpers({ maps: set, clockNs: () => nowNs, seed: 7 });
  const call = (id: number, ...args: bigint[]): bigint => {
    const [a = 0n, b = 0n, c = 0n, d = 0n, e = 0n] = args;
    return table.get(id)!.fn(a, b, c, d, e, { memory });
  };
  const buf = memory.map('buf', 64);
  const handle = BigInt(set.maps[0]!.handle);
  memory.view.setUint32(buf.base, 5, true);
  memory.view.setBigUint64(buf.base + 8, 55n, true);
  assert.equal(call(HelperId.MAP_LOOKUP_ELEM, handle, BigInt(buf.base)), 0n);
  assert.equal(call(HelperId.MAP_UPDATE_ELEM, handle, BigInt(buf.base), BigInt(buf.base + 8), 0n), 0n);
  const at = call(HelperId.MAP_LOOKUP_ELEM, handle, BigInt(buf.base));
  assert.equal(memory.view.getBigUint64(Number(at), true), 55n);
  assert.equal(call(HelperId.MAP_UPDATE_ELEM, handle, BigInt(buf.base), BigInt(buf.base + 8), 1n), BigInt.asUintN(64, -17n), '-EEXIST');
  assert.equal(call(HelperId.MAP_DELETE_ELEM, handle, BigInt(buf.base)), 0n);
  assert.equal(call(HelperId.MAP_DELETE_ELEM, handle, BigInt(buf.base)), BigInt.asUintN(64, -2n), '-ENOENT');
  assert.throws(() => call(HelperId.MAP_LOOKUP_ELEM, 12345n, BigInt(buf.base)), (e: unknown) => e instanceof HelperError && /not a map pointer/.test(e.message));
  assert.throws(() => call(HelperId.MAP_LOOKUP_ELEM, handle, BigInt(buf.base + 62)), /key at 0x[0-9a-f]+ \(4 bytes\) is not mapped memory/);
  assert.equal(call(HelperId.KTIME_GET_NS), 1000n);
  nowNs = 2500n;
  assert.equal(call(HelperId.KTIME_GET_NS), 2500n);
  const rand = seededU32(7);
  assert.deepEqual([call(HelperId.GET_PRANDOM_U32), call(HelperId.GET_PRANDOM_U32)], [BigInt(rand()), BigInt(rand())]);
  // trace_printk: the format must be NUL-terminated within its size.
  memory.u8.set(Buffer.from('v=%d u=%u %s\n\0'), buf.base);
  memory.u8.set(Buffer.from('str\0'), buf.base + 32);
  assert.equal(call(HelperId.TRACE_PRINTK, BigInt(buf.base), 15n, BigInt.asUintN(64, -5n), BigInt.asUintN(64, -1n), BigInt(buf.base + 32)), 22n);
  assert.deepEqual(traceLines, ['v=-5 u=4294967295 str']);
  assert.equal(call(HelperId.TRACE_PRINTK, BigInt(buf.base), 4n), BigInt.asUintN(64, -22n), 'no NUL within fmt_size');
  assert.equal(createStdHelpers({ maps: set }).table.has(HelperId.KTIME_GET_NS), false, 'no clock, no ktime');
});

test('formatPrintk: widths, flags, lengths, and rejected formats', () => {
  const str = (): string => 'abc';
  assert.equal(formatPrintk('%5d|%-5d|%05d|%05d', [42n, 42n, 42n, BigInt.asUintN(64, -42n)], str), undefined, 'more than three arguments');
  assert.equal(formatPrintk('%5d|%-5d|%05d', [42n, 42n, BigInt.asUintN(64, -42n)], str), '   42|42   |-0042');
  assert.equal(formatPrintk('%llx %lx %x %%', [0x1234_5678_9abcn, 0xffn, 0x1_0000_00ffn], str), '123456789abc ff ff %');
  assert.equal(formatPrintk('%X%c', [0xabn, 0x41n], str), 'ABA');
  assert.equal(formatPrintk('%lld %d', [BigInt.asUintN(64, -1n), 0xffff_ffffn], str), '-1 -1');
  assert.equal(formatPrintk('%p %s', [0x10n, 0n], str), '0x10 abc');
  assert.equal(formatPrintk('%q', [1n], str), undefined);
  assert.equal(formatPrintk('%', [], str), undefined);
});

test('link errors name the program and instruction', () => {
  const object = load('bpf/examples/lookup.bpf.o');
  const exit = insn(InsnClass.JMP | JmpOp.EXIT);
  const withInsns = (insns: ReturnType<typeof insn>[]): BpfObject => ({ ...object, programs: [{ ...object.programs[0]!, insns }] });
  const [a, b] = ldImm64(1, 3n, LdImm64Src.MAP_BY_FD);
  assert.throws(() => linkProgram(withInsns([a, b, exit]), 'lookup', new AddressSpace()), (e: unknown) => e instanceof LinkError && /program "lookup", instruction 0: lddw with src 1 cannot be linked/.test(e.message));
  const [c, d] = ldImm64(1, 0n, LdImm64Src.MAP_BY_IDX);
  const bad = { ...c, imm: 99 };
  assert.throws(() => linkProgram(withInsns([bad, d, exit]), 'lookup', new AddressSpace()), /instruction 0: map index 99 does not exist \(5 maps\)/);
  const [e1, e2] = ldImm64(1, 0n, LdImm64Src.MAP_VAL_BY_IDX);
  assert.throws(() => linkProgram(withInsns([{ ...e1, imm: 4 }, { ...e2, imm: 8 }, exit]), 'lookup', new AddressSpace()), /offset 8 is outside the value of "\.data" \(8 bytes\)/);
  assert.throws(() => linkProgram(withInsns([{ ...e1, imm: 1 }, e2, exit]), 'lookup', new AddressSpace()), /direct value access needs an array map; "found" is type 1/);
  const memory = new AddressSpace();
  const other = linkProgram(object, 'lookup', new AddressSpace());
  assert.throws(() => linkProgram(object, 'lookup', memory, other.maps), /different address space/);
});
