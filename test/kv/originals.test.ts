// The original authors' BPF-KV programs (xrp-bpf/get.c and range.c of
// github.com/xrp-project/BPF-KV), compiled unmodified from a checkout by
// scripts/build-originals.ts, on our system: loaded by our ELF loader,
// accepted by our verifier at its default budget, run through the emulated
// xrp mode and the native engine on files written by our builder (what `xrp kv
// create --raw` writes), every answer compared with our user-space walk on the
// same bytes; and accepted by the running kernel's verifier.
// Their own command-line tool (simplekv, built unmodified with gcc) checks the
// file format from their side: its `create` writes our builder's bytes, and
// its user-space get and range read our files as our walk does.
// Needs a checkout: BPFKV_DIR=DIR (.ci/run clones one when it can); skipped,
// saying why, without one.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBlockSource } from '../../src/base/block-source.ts';
import { loadElf } from '../../src/bpf/elf/elf.ts';
import { VERIFY_INSN_BUDGET_DEFAULT, VERIFY_STATE_BUDGET_DEFAULT } from '../../src/bpf/verifier/budget.ts';
import { verify } from '../../src/bpf/verifier/verifier.ts';
import { buildKvFile } from '../../src/kv/builder.ts';
import { kvGeometry } from '../../src/kv/format.ts';
import { importKvImage } from '../../src/kv/kv-db.ts';
import { rangeScan, RNG_BEGIN_EXCLUSIVE, RNG_END_INCLUSIVE, type KeyRange, type KeyValue } from '../../src/kv/lookups.ts';
import { runKvLookups, runKvRanges } from '../../src/kv/modes.ts';
import { lookupDifference, rangeDifference, referenceLookup, referenceRange } from '../../src/kv/reference.ts';
import type { LookupAnswer, RangeAnswer } from '../../src/kv/user-ops.ts';
import { EmulatedXrpEngine } from '../../src/kernel/xrp/engine.ts';
import { originalRange } from '../../src/kv/original-range.ts';
import { nativeKvGet, nativeKvRange, openKvEngine, rangeAnswerOf } from '../../src/kv/xrp-client.ts';
import type { XrpEngine } from '../../src/xrp/engine.ts';
import { originalsKernelWrapper } from '../../bench/linux/originals.ts';
import { bpfkvDirOf, buildOriginals, buildOriginalTool, describeCheckout, originalsUnavailable, originalToolUnavailable, type OriginalsBuild } from '../../scripts/build-originals.ts';
import { checkUnderKernelVerifier } from '../helpers/kernel-verifier.ts';
import { TestRng } from './kv-helpers.ts';

const checkoutDir = bpfkvDirOf();
const unavailable = originalsUnavailable(checkoutDir);
const skip = unavailable === null ? false : `the original BPF-KV programs are not available: ${unavailable}`;
const noTool = originalToolUnavailable(checkoutDir);
const skipTool = noTool === null ? false : `the original BPF-KV tool (simplekv) is not available: ${noTool}`;

let built: OriginalsBuild | undefined;
let dir = '';
const LAYERS = [1, 2, 3] as const;
const raw = (layers: number): string => join(dir, `bpfkv-${layers}.raw`);
const image = (layers: number): string => join(dir, `bpfkv-${layers}.img`);

function originals(): OriginalsBuild {
  if (built === undefined) throw new Error('the originals were not built (before() did not run)');
  return built;
}

before(async () => {
  if (checkoutDir === undefined || unavailable !== null) return;
  built = buildOriginals(checkoutDir);
  dir = mkdtempSync(join(tmpdir(), 'bpfkv-originals-'));
  for (const layers of LAYERS) {
    await buildKvFile(raw(layers), { layers });
    importKvImage(raw(layers), image(layers));
  }
});

after(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

const sourceOf = (layers: number): MemoryBlockSource => new MemoryBlockSource(new Uint8Array(readFileSync(raw(layers))));

/** Every key of small files, seeded random keys of larger ones; one in eight absent (past the last key, or near 2^64). */
function keysFor(layers: number, rng: TestRng): bigint[] {
  const { keyCount } = kvGeometry(layers);
  const count = layers <= 2 ? Math.ceil((keyCount * 9) / 8 / 32) * 32 : 1024;
  return Array.from({ length: count }, (_, i) => {
    if (layers <= 2 && i < keyCount) return BigInt(i);
    const r = rng.below(8);
    if (r === 0) return BigInt(keyCount + rng.below(100));
    if (r === 1) return 2n ** 64n - 1n - BigInt(rng.below(3));
    return BigInt(rng.below(keyCount));
  });
}

/** Ranges at the edges (leaf boundaries, the ends of the file, empty) and seeded random ones with random flags. */
function rangesFor(layers: number, rng: TestRng): KeyRange[] {
  const { keyCount } = kvGeometry(layers);
  const n = BigInt(keyCount);
  const ranges: KeyRange[] = [
    { begin: 0n, end: n },
    { begin: 0n, end: 2n ** 64n - 1n, flags: RNG_END_INCLUSIVE },
    { begin: 30n, end: 95n },
    { begin: 31n, end: 63n, flags: RNG_BEGIN_EXCLUSIVE | RNG_END_INCLUSIVE },
    { begin: n - 1n, end: n + 5n },
    { begin: 7n, end: 7n, flags: RNG_END_INCLUSIVE },
  ];
  for (let i = 0; i < 40; i++) {
    const begin = BigInt(rng.below(keyCount + 3));
    ranges.push({ begin, end: begin + BigInt(rng.below(layers === 1 ? 40 : 300)), flags: rng.below(4) });
  }
  // their agg_op 0 answers pairs; an empty range is answered without a call (as every mode), so skip the reversed ones
  return ranges.filter((r) => r.end >= r.begin);
}

function assertLookups(answers: readonly LookupAnswer[], keys: readonly bigint[], layers: number, what: string): void {
  const source = sourceOf(layers);
  assert.equal(answers.length, keys.length, `${what}: one answer per key`);
  answers.forEach((a, i) => {
    const d = lookupDifference(a, referenceLookup(source, keys[i] ?? -1n));
    assert.equal(d, null, `${what} L=${layers}: answer ${i}: ${d}`);
  });
}

function assertRanges(answers: readonly RangeAnswer[], ranges: readonly KeyRange[], layers: number, what: string): number {
  const source = sourceOf(layers);
  let pairs = 0;
  assert.equal(answers.length, ranges.length, `${what}: one answer per range`);
  answers.forEach((a, i) => {
    const range = ranges[i];
    assert.ok(range !== undefined);
    const d = rangeDifference(a, referenceRange(source, range, 'none'));
    assert.equal(d, null, `${what} L=${layers}: range [${range.begin}, ${range.end}) flags ${range.flags ?? 0}: ${d}`);
    pairs += a.count;
  });
  return pairs;
}

/** AGG_SUM as range.c defines it: the sum of each value's first 8 bytes read as a (little-endian) long, wrapping. */
function theirSum(pairs: readonly KeyValue[]): bigint {
  let sum = 0n;
  for (const p of pairs) sum = (sum + new DataView(p.value.buffer, p.value.byteOffset, 8).getBigUint64(0, true)) & 0xffff_ffff_ffff_ffffn;
  return sum;
}

test('their get.c and range.c load with our ELF loader and pass our verifier at its default budget', { skip }, (t) => {
  const b = originals();
  t.diagnostic(describeCheckout(b.checkout));
  assert.notEqual(b.checkout.clean, false, `their files must be unmodified: ${describeCheckout(b.checkout)}`);
  for (const p of [b.get, b.range]) {
    const object = loadElf(new Uint8Array(readFileSync(p.objectPath)), p.objectPath);
    const program = object.programs.find((q) => q.name === p.programName);
    assert.ok(program !== undefined, `${p.objectPath} has no ${p.programName}: ${object.programs.map((q) => q.name).join(', ')}`);
    assert.equal(program.sectionName, p.sectionName);
    const result = verify(program, { type: 'xrp', maps: object.maps });
    assert.ok(result.ok, `${p.programName} rejected: ${result.ok ? '' : result.log.slice(-20).join('\n')}`);
    const { processedInsns, states } = result.stats;
    assert.ok(processedInsns <= VERIFY_INSN_BUDGET_DEFAULT && states <= VERIFY_STATE_BUDGET_DEFAULT);
    t.diagnostic(`${p.programName} (section ${p.sectionName}, ${program.insns.length} insns): processed ${processedInsns} insns, ${states} states`);
  }
});

test('their get.c in the emulated xrp mode answers as our user-space walk, 32 keys per call (seeded)', { skip }, (t) => {
  const b = originals();
  const rng = new TestRng(1801);
  for (const layers of LAYERS) {
    const keys = keysFor(layers, rng);
    const run = runKvLookups({
      db: image(layers), mode: 'xrp', keys, keysPerRequest: 32, requests: keys.length / 32,
      storageFunction: { objectPath: b.get.objectPath, programName: b.get.programName },
    });
    assert.equal(run.xrpFallbacks, 0, 'every call finished in the kernel');
    assertLookups(run.answers ?? [], keys, layers, 'emulated get.c');
    t.diagnostic(`L=${layers}: ${keys.length} keys compared`);
  }
});

test('their range.c in the emulated xrp mode answers as our user-space walk, resumed 32 pairs at a time (seeded)', { skip }, (t) => {
  const b = originals();
  const rng = new TestRng(1802);
  for (const layers of LAYERS) {
    const ranges = rangesFor(layers, rng);
    const run = runKvRanges({
      db: image(layers), mode: 'xrp', ranges, requests: ranges.length,
      storageFunction: { objectPath: b.range.objectPath, programName: b.range.programName },
    });
    assert.equal(run.xrpFallbacks, 0, 'every call finished in the kernel');
    const pairs = assertRanges(run.answers ?? [], ranges, layers, 'emulated range.c');
    assert.ok(pairs > kvGeometry(layers).keyCount, 'the ranges cover more pairs than the file has keys');
    t.diagnostic(`L=${layers}: ${ranges.length} ranges, ${pairs} pairs compared`);
  }
});

test('their get.c and range.c on the native engine answer as our user-space walk (seeded)', { skip }, async (t) => {
  const b = originals();
  const rng = new TestRng(1803);
  for (const layers of LAYERS) {
    const path = raw(layers);
    const keys = keysFor(layers, rng);
    const getEngine = await openKvEngine(path, 'get', {}, { objectPath: b.get.objectPath, programName: b.get.programName });
    try {
      const got = await nativeKvGet(path, keys, { engine: getEngine });
      assert.equal(got.partial, false);
      assertLookups(got.answers.map((a) => ({ key: a.key, found: a.found, value: a.value ?? null })), keys, layers, 'native get.c');
    } finally {
      await getEngine.close();
    }
    const ranges = rangesFor(layers, rng);
    const rangeEngine = await openKvEngine(path, 'range', {}, { objectPath: b.range.objectPath, programName: b.range.programName });
    try {
      const answers: RangeAnswer[] = [];
      for (const r of ranges) {
        const got = await nativeKvRange(path, r.begin, r.end, { engine: rangeEngine, flags: r.flags ?? 0 });
        assert.equal(got.partial, false);
        answers.push(rangeAnswerOf(got, 'none'));
      }
      const pairs = assertRanges(answers, ranges, layers, 'native range.c');
      t.diagnostic(`L=${layers}: ${keys.length} keys, ${ranges.length} ranges, ${pairs} pairs compared`);
    } finally {
      await rangeEngine.close();
    }
  }
});

/** Both engines with their range.c loaded on the file of `layers` layers (a resubmission limit per call when given). */
async function rangeEngines(layers: number, resubmitLimit?: number): Promise<XrpEngine[]> {
  const b = originals();
  const limit = resubmitLimit !== undefined ? { resubmitLimit } : {};
  const emulated = await EmulatedXrpEngine.open(raw(layers), limit);
  await emulated.load(b.range.objectPath, b.range.programName);
  const native = await openKvEngine(raw(layers), 'range', limit, { objectPath: b.range.objectPath, programName: b.range.programName });
  return [emulated, native];
}

test('their AGG_SUM (the values\' first 8 bytes as a long, summed) on both engines, the whole file in one query (seeded)', { skip }, async () => {
  const layers = 3;
  const rng = new TestRng(1804);
  const source = sourceOf(layers);
  // the whole file needs about 30,000 reads: chains cut by the resubmission limit, continued where they stopped
  const ranges = rangesFor(layers, rng).filter((r) => rangeScan(source, r, false).pairs.length > 0).slice(0, 16);
  const expected = ranges.map((r) => theirSum(rangeScan(source, r).pairs));
  for (const engine of await rangeEngines(layers)) {
    try {
      let continued = 0;
      for (const [i, r] of ranges.entries()) {
        const got = await originalRange(engine, r.begin, r.end, { layers, flags: r.flags ?? 0, agg: 'sum' });
        assert.equal(got.partial, false);
        assert.equal(got.aggValue, expected[i], `${engine.kind}: range [${r.begin}, ${r.end}) flags ${r.flags ?? 0}`);
        continued += got.continuations;
      }
      assert.ok(continued >= 7, `${engine.kind}: the whole-file sums were cut and continued (${continued} continuations)`);
    } finally {
      await engine.close();
    }
  }
});

test('their range.c with a tiny resubmission limit: every cut chain continued where it stopped, the same pairs (seeded)', { skip }, async () => {
  const layers = 3;
  const rng = new TestRng(1805);
  const source = sourceOf(layers);
  const ranges = rangesFor(layers, rng).slice(2, 22);
  for (const limit of [1, 4]) {
    for (const engine of await rangeEngines(layers, limit)) {
      let continued = 0;
      try {
        for (const r of ranges) {
          const got = await originalRange(engine, r.begin, r.end, { layers, flags: r.flags ?? 0 });
          continued += got.continuations;
          const d = rangeDifference({ agg: 'none', count: got.pairs.length, pairs: got.pairs, calls: got.calls }, referenceRange(source, r, 'none'));
          assert.equal(d, null, `${engine.kind}, limit ${limit}: range [${r.begin}, ${r.end}) flags ${r.flags ?? 0}: ${d}`);
        }
        assert.ok(continued > ranges.length, `${engine.kind}, limit ${limit}: chains were cut (${continued} continuations)`);
      } finally {
        await engine.close();
      }
    }
  }
});

test('our BPF-KV client (what `xrp kv range --prog` runs) with their range.c and a tiny resubmission limit: the same pairs on both engines (seeded)', { skip }, async () => {
  // range.c moves past a key when it asks for the key's value: a chain cut by the
  // limit goes on at its pending read; resuming it from the saved leaf lost a value per cut
  const layers = 3;
  const rng = new TestRng(1806);
  const source = sourceOf(layers);
  const ranges = rangesFor(layers, rng).slice(0, 12);
  for (const engine of await rangeEngines(layers, 2)) {
    try {
      for (const r of ranges) {
        const got = await nativeKvRange(raw(layers), r.begin, r.end, { engine, flags: r.flags ?? 0 });
        assert.equal(got.partial, false);
        const d = rangeDifference(rangeAnswerOf(got, 'none'), referenceRange(source, r, 'none'));
        assert.equal(d, null, `${engine.kind}: range [${r.begin}, ${r.end}) flags ${r.flags ?? 0}: ${d}`);
      }
    } finally {
      await engine.close();
    }
  }
});

test('their range.c with a read budget that runs out on a cut chain: a partial answer, never a complete one short of a value (every client, both engines)', { skip }, async () => {
  // range.c moves past a key when it asks for the key's value: a chain cut by the
  // budget while that value is pending leaves a page whose range reads as done
  const layers = 3;
  const source = sourceOf(layers);
  const ranges: KeyRange[] = [{ begin: 0n, end: 5n }, { begin: 100n, end: 110n }, { begin: 100n, end: 140n, flags: RNG_END_INCLUSIVE }];
  const b = originals();
  const check = (what: string, pairs: readonly KeyValue[], partial: boolean, r: KeyRange): void => {
    const want = referenceRange(source, r, 'none').pairs ?? [];
    const keys = pairs.map((p) => p.key);
    if (partial) assert.deepEqual(keys, want.slice(0, keys.length).map((p) => p.key), `${what}: a partial answer is a prefix of the range`);
    else assert.deepEqual(keys, want.map((p) => p.key), `${what}: a complete answer has every pair`);
  };
  let partials = 0;
  const engines = await rangeEngines(layers);
  try {
    for (const r of ranges) {
      const full = rangeScan(source, r, false).pairs.length;
      // the descent, a value per key and the leaves between: every budget up to enough for the whole range
      for (let readsMax = 1; readsMax <= layers + full + full / 8 + 2; readsMax++) {
        const what = `[${r.begin}, ${r.end}) flags ${r.flags ?? 0} readsMax ${readsMax}`;
        const run = runKvRanges({ db: image(layers), mode: 'xrp', ranges: [r], requests: 1, readsMax, storageFunction: { objectPath: b.range.objectPath, programName: b.range.programName } });
        check(`emulated xrp mode ${what}`, run.answers?.[0]?.pairs ?? [], run.xrpPartial > 0, r);
        for (const engine of engines) {
          const ours = await nativeKvRange(raw(layers), r.begin, r.end, { engine, flags: r.flags ?? 0, readsMax });
          check(`nativeKvRange, ${engine.kind} ${what}`, ours.pairs, ours.partial, r);
          const theirs = await originalRange(engine, r.begin, r.end, { layers, flags: r.flags ?? 0, readsMax });
          check(`originalRange, ${engine.kind} ${what}`, theirs.pairs, theirs.partial, r);
          if (ours.partial) partials++;
        }
      }
    }
  } finally {
    for (const engine of engines) await engine.close();
  }
  assert.ok(partials > 0, 'some budgets ran out');
});

test('xrp kv get and kv range --prog run their objects on both engines', { skip }, (t) => {
  const b = originals();
  const layers = 2;
  const xrp = (args: string[]): string => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'kv', ...args], { encoding: 'utf8', cwd: join(import.meta.dirname, '../..') });
    assert.equal(r.status, 0, `xrp kv ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  for (const engine of ['emulated', 'native']) {
    const got = xrp(['get', raw(layers), '--key', '0,30,31,960,961', '--keys-per-request', '5', '--prog', b.get.objectPath, '--section', b.get.sectionName, '--engine', engine]);
    for (const line of ['key 0: "0"', 'key 30: "30"', 'key 31: "31"', 'key 960: "960"', 'key 961: not found']) assert.ok(got.includes(line), `${engine} get: no "${line}" in\n${got}`);
    const range = xrp(['range', raw(layers), '29', '95', '--end-inclusive', '--show', '100', '--prog', b.range.objectPath, '--section', b.range.sectionName, '--engine', engine]);
    assert.ok(range.includes('67 pair(s)'), `${engine} range:\n${range}`);
    for (let k = 29; k <= 95; k++) assert.ok(range.includes(`  ${k}: "${k}"`), `${engine} range: no pair ${k}`);
    t.diagnostic(`${engine}: 5 keys and a 67-pair range through the CLI`);
  }
});

/** Runs their simplekv; its stdout, and its exit status. */
function simplekv(args: string[], cwd: string): { status: number | null; out: string } {
  if (checkoutDir === undefined) throw new Error('no checkout');
  const r = spawnSync(buildOriginalTool(checkoutDir), args, { encoding: 'utf8', cwd });
  if (r.error !== undefined) throw r.error;
  return { status: r.status, out: r.stdout };
}

test('their simplekv create writes the bytes our builder writes, L = 1..4', { skip: skipTool }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'bpfkv-create-'));
  try {
    for (const layers of [1, 2, 3, 4]) {
      const theirs = join(work, `theirs-${layers}.db`);
      const made = simplekv([theirs, String(layers), 'create'], work);
      assert.equal(made.status, 0, made.out);
      const ours = join(work, `ours-${layers}.db`);
      await buildKvFile(ours, { layers });
      const a = readFileSync(theirs);
      const b = readFileSync(ours);
      assert.equal(a.length, b.length, `L=${layers}: sizes`);
      if (!a.equals(b)) assert.fail(`L=${layers}: the files differ first at byte ${a.findIndex((byte, i) => byte !== b[i])}`);
      t.diagnostic(`L=${layers}: ${a.length} bytes identical`);
      rmSync(theirs);
      rmSync(ours);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('their simplekv\'s user-space get and range read our file as our walk does; its --sum is range.c\'s AGG_SUM (seeded)', { skip: skipTool }, () => {
  const layers = 3;
  const source = sourceOf(layers);
  const rng = new TestRng(1806);
  const trim = (value: Uint8Array): string => Buffer.from(value).toString('latin1').replace(/\0.*$/s, '').trim();
  for (let i = 0; i < 24; i++) {
    const key = i % 6 === 5 ? BigInt(kvGeometry(layers).keyCount + i) : BigInt(rng.below(kvGeometry(layers).keyCount));
    const got = simplekv([raw(layers), String(layers), 'get', '--key', String(key)], dir);
    const ref = referenceLookup(source, key);
    const expected = ref.found && ref.value !== null ? `Key: ${key}\nValue ${trim(ref.value)}\n` : `Key: ${key}\nValue not found\n`;
    assert.equal(got.out, expected, `key ${key}`);
    assert.equal(got.status, ref.found ? 0 : 1);
  }
  for (let i = 0; i < 10; i++) {
    const begin = BigInt(rng.below(kvGeometry(layers).keyCount));
    const range = { begin, end: begin + BigInt(1 + rng.below(200)) };
    const pairs = rangeScan(source, range).pairs;
    const dumped = simplekv([raw(layers), String(layers), 'range', `${range.begin},${range.end}`, '--dump'], dir);
    assert.equal(dumped.status, 0);
    assert.deepEqual(dumped.out.split('\n').filter((l) => l !== '' && !l.startsWith('Range Size:')), pairs.map((p) => trim(p.value)), `range [${range.begin}, ${range.end})`);
    const summed = simplekv([raw(layers), String(layers), 'range', `${range.begin},${range.end}`, '--dump', '--sum'], dir);
    const sums = summed.out.split('\n').filter((l) => /^-?\d+$/.test(l)).map((l) => BigInt.asUintN(64, BigInt(l)));
    assert.deepEqual(sums, [theirSum(pairs)], `--sum of [${range.begin}, ${range.end})`);
  }
});

const UNBOUNDED = `
#include "xrp.h"
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, char[4096]); } pages SEC(".maps");
SEC("socket") int unmasked(void *skb)
{
	__u32 k = 0;
	char *scratch = bpf_map_lookup_elem(&pages, &k);
	if (!scratch) return 0;
	__u32 i = *(__u32 *)scratch;          /* current_index read from the page, never masked */
	return scratch[288 + i * 65];
}
`;

test('their get.c and range.c load under the running kernel\'s verifier (and an unmasked index does not)', { skip }, (t) => {
  checkUnderKernelVerifier(t, {
    tag: 'bpfkv-originals',
    source: originalsKernelWrapper(originals()),
    programs: ['verify_oliver_agg', 'verify_oliver_range'],
    control: { source: UNBOUNDED, why: 'an unmasked index into the scratch page must be rejected', log: /unbounded memory access|invalid access to map value|min value is outside|max value is outside/ },
  });
});
