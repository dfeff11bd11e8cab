// `xrp ycsb create|load|run`, run as a user would, on an emulated image and on a real file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function xrp(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8', cwd: ROOT });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('xrp ycsb: load and run workload C on an emulated image (read() and XRP) and B on a real file; bad input is a clear error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ycsb-cli-'));
  try {
    const img = join(dir, 'y.img');
    const p = ['-p', 'recordcount=600', '-p', 'operationcount=200'];
    const load = xrp('ycsb', 'load', 'workloads/ycsb/workloadc', '--image', img, ...p);
    assert.equal(load.status, 0, load.stderr);
    assert.match(load.stdout, /^load on the emulated machine, read\(\), 1 thread\(s\): 600 operations in .* of virtual time = [\d,]+ ops\/s/);
    const run = xrp('ycsb', 'run', 'workloads/ycsb/workloadc', '--image', img, ...p, '--threads', '2', '--cache-fraction', '0.005', '--json');
    assert.equal(run.status, 0, run.stderr);
    const results = JSON.parse(run.stdout) as { mode: string; operations: number; perOp: { READ: { count: number; notFound: number } }; tree: { xrpAnswered: number } }[];
    assert.deepEqual(results.map((r) => r.mode), ['read', 'xrp']);
    for (const r of results) assert.deepEqual([r.operations, r.perOp.READ.count, r.perOp.READ.notFound], [200, 200, 0]);
    assert.ok(results[1]!.tree.xrpAnswered > 0);
    const file = join(dir, 't.wt');
    assert.equal(xrp('ycsb', 'load', 'workloads/ycsb/workloadb', '--file', file, ...p).status, 0);
    const frun = xrp('ycsb', 'run', 'workloads/ycsb/workloadb', '--file', file, ...p);
    assert.equal(frun.status, 0, frun.stderr);
    assert.match(frun.stdout, /run on a real file, read\(\), 1 thread\(s\): 200 operations/);
    assert.match(frun.stdout, /READ +\d+ ops +[\d,]+ ops\/s +mean/);
    const create = xrp('ycsb', 'create', 'workloads/ycsb/workloada', '--file', join(dir, 'e.wt'));
    assert.equal(create.status, 0, create.stderr);
    const bad = xrp('ycsb', 'run', 'workloads/ycsb/workloadc', '--image', img, '-p', 'requestdistribution=hotspot');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /requestdistribution=hotspot: supported: uniform, zipfian, latest/);
    const both = xrp('ycsb', 'run', 'workloads/ycsb/workloadc');
    assert.equal(both.status, 2);
    assert.match(both.stderr, /exactly one of --image/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
