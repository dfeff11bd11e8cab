// One XrpEngine interface, two engines: the same caller code (BPF-KV point
// lookups and a scripted chain) gets the same answers, statuses, reads and
// stop offsets from the emulated kernel and from the native engine.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { EmulatedXrpEngine } from '../../src/kernel/xrp/engine.ts';
import { buildKvFile } from '../../src/kv/builder.ts';
import { NativeXrpEngine } from '../../src/native/engine.ts';
import { KV_GET_OBJECT, nativeKvGet } from '../../src/kv/xrp-client.ts';
import type { XrpEngine, XrpOutcome } from '../../src/xrp/engine.ts';
import { writeSgQuery } from '../../src/kv/scratch.ts';
import { TestRng } from '../kernel/xrp/helpers.ts';
import { TempDir } from '../native/helpers.ts';

const dir = new TempDir();
after(() => dir.remove());

async function withEngines(path: string, body: (e: XrpEngine) => Promise<void>): Promise<void> {
  for (const open of [() => EmulatedXrpEngine.open(path, { seed: 3 }), () => NativeXrpEngine.open(path, { workers: 1 })]) {
    const engine: XrpEngine = await open();
    try {
      await body(engine);
    } finally {
      await engine.close();
    }
  }
}

test('BPF-KV lookups through the XrpEngine interface: the emulated and the native engine agree (seeded)', async () => {
  const path = `${dir.path}/kv2.db`;
  await buildKvFile(path, { layers: 2 });
  const rng = new TestRng(11);
  const keys = Array.from({ length: 70 }, () => BigInt(rng.below(31 ** 2 + 50)));
  const seen: { kind: string; answers: string; reads: number }[] = [];
  await withEngines(path, async (engine) => {
    await engine.load(KV_GET_OBJECT, 'kv_get');
    const r = await nativeKvGet(path, keys, { engine });
    assert.equal(r.answers.length, keys.length, engine.kind);
    seen.push({ kind: engine.kind, answers: JSON.stringify(r.answers, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)), reads: r.reads });
  });
  const [emulated, native] = seen;
  assert.ok(emulated !== undefined && native !== undefined);
  assert.equal(emulated.answers, native.answers, 'the same answers');
  assert.equal(emulated.reads, native.reads, 'the same block reads');
  assert.ok(emulated.answers.includes('"found":true') && emulated.answers.includes('"found":false'), 'keys found and keys missing');
});

test('statuses through the XrpEngine interface: DONE, LIMIT (with its pending read) and OUT_OF_FILE agree', async () => {
  const path = `${dir.path}/kv2b.db`;
  await buildKvFile(path, { layers: 2 });
  const outcomes: XrpOutcome[][] = [];
  await withEngines(path, async (engine) => {
    await engine.load(KV_GET_OBJECT, 'kv_get');
    const query = new Uint8Array(4096);
    writeSgQuery(query, [5n]);
    const list: XrpOutcome[] = [];
    list.push(await engine.readXrp(0, query.slice()));
    list.push(await engine.readXrp(0, query.slice(), { resubmitLimit: 0 }));
    list.push(await engine.readXrp(1 << 30, query.slice()));
    outcomes.push(list);
  });
  const [emulated, native] = outcomes;
  assert.ok(emulated !== undefined && native !== undefined);
  assert.deepEqual(emulated.map((o) => o.statusName), ['DONE', 'LIMIT', 'OUT_OF_FILE']);
  for (let i = 0; i < emulated.length; i++) {
    const e: XrpOutcome | undefined = emulated[i];
    const n: XrpOutcome | undefined = native[i];
    assert.ok(e !== undefined && n !== undefined);
    const where: string = `call ${i}: ${e.statusName} vs ${n.statusName}`;
    assert.equal(e.status, n.status, where);
    assert.equal(e.reads, n.reads, `${where}: reads`);
    assert.equal(e.resubmissions, n.resubmissions, `${where}: resubmissions`);
    assert.equal(e.stopOffsetBytes, n.stopOffsetBytes, `${where}: stop offset`);
    assert.equal(e.partial, n.partial, `${where}: partial`);
    assert.deepEqual([...e.pending], [...n.pending], `${where}: pending`);
    assert.equal(e.detail, n.detail, `${where}: detail`);
  }
  assert.equal(emulated[1]?.pending.length, 1, 'LIMIT leaves the next read pending');
});
