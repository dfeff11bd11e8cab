// A worker that dies fails only the request it had taken, with a clear error;
// requests still waiting in its ring go to the other workers; a replacement is
// started with the same program; nothing is lost and nothing hangs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { XrpStatus } from '../../src/xrp/status.ts';
import { NativeWorkerError, NativeXrpEngine, type NativeXrpResult } from '../../src/native/engine.ts';
import { SCRIPTED, scriptedFile, scriptedLog, TempDir, type BlockSpec } from './helpers.ts';

const dir = new TempDir();
after(() => dir.remove());

// a 40-block chain: each request takes a little while, so many are in flight at once
const HOPS = 40;
const blocks: BlockSpec[] = Array.from({ length: HOPS }, (_, i) => (i < HOPS - 1 ? { next: [[(i + 1) * 512, 0]] } : { done: true }));
const path = dir.file('chain.bin', scriptedFile(blocks));

function checkChain(r: NativeXrpResult, scratch: Uint8Array): void {
  assert.equal(r.status, XrpStatus.DONE, r.detail);
  assert.equal(r.reads, HOPS);
  assert.deepEqual(scriptedLog(scratch), Array.from({ length: HOPS }, (_, i) => i));
}

/** Runs `count` requests, request `crashAt` with the debug hook; returns the settled outcomes. */
async function burst(engine: NativeXrpEngine, count: number, crashAt: number, how: 'throw' | 'exit'): Promise<{ ok: number; failed: NativeWorkerError[] }> {
  const outcomes = await Promise.allSettled(
    Array.from({ length: count }, async (_, i) => {
      const scratch = new Uint8Array(4096);
      const r = await engine.readXrp(0, scratch, i === crashAt ? { debugCrash: how } : {});
      checkChain(r, scratch);
    }),
  );
  const failed: NativeWorkerError[] = [];
  let ok = 0;
  for (const o of outcomes) {
    if (o.status === 'fulfilled') ok++;
    else {
      assert.ok(o.reason instanceof NativeWorkerError, `unexpected failure: ${String(o.reason)}`);
      failed.push(o.reason);
    }
  }
  return { ok, failed };
}

test('a worker that dies (uncaught error, process.exit, terminate) fails only the request it had taken; it is replaced', async () => {
  const engine = await NativeXrpEngine.open(path, { workers: 2, queueDepth: 8, debugHooks: true });
  await engine.load(SCRIPTED);
  try {
    for (const how of ['throw', 'exit'] as const) {
      const replaced = engine.replacedWorkers;
      const { ok, failed } = await burst(engine, 60, 5, how);
      assert.equal(failed.length, 1, `${how}: only the request the dying worker had taken`);
      assert.equal(ok, 59, how);
      assert.equal(failed[0]!.code, 'NATIVE_WORKER');
      assert.match(failed[0]!.message, how === 'throw' ? /died \(debug hook: worker \d+ crashes on purpose\)/ : /died \(exit code 70\)/);
      assert.match(failed[0]!.message, /at offset 0; the request was not completed/);
      assert.equal(engine.replacedWorkers, replaced + 1);
      await engine.whenAllReady();
      assert.equal(engine.outstanding, 0);
    }
    // terminated from outside in the middle of a burst: every request settles
    const running = burst(engine, 80, -1, 'throw');
    await new Promise((resolve) => setImmediate(resolve));
    await engine.debugTerminateWorker(0);
    const { ok, failed } = await running;
    assert.ok(failed.length <= 1, `${failed.length} failed`);
    assert.equal(ok + failed.length, 80);
    assert.equal(engine.replacedWorkers, 3);
    await engine.whenAllReady();
    // the pool is whole again: both workers serve, with the same program
    const served = new Set<number>();
    for (let round = 0; round < 50 && served.size < 2; round++) {
      const scratches = Array.from({ length: 16 }, () => new Uint8Array(4096));
      const rs = await Promise.all(scratches.map((s) => engine.readXrp(0, s)));
      rs.forEach((r, i) => {
        checkChain(r, scratches[i]!);
        served.add(r.workerId);
      });
    }
    assert.equal(served.size, 2, `requests served by workers ${[...served].join(', ')}`);
  } finally {
    await engine.close();
  }
});
