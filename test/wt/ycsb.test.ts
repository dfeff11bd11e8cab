// YCSB: the property format, the generators (against YCSB's formulas), the
// core workload files' mixes, and a deterministic run on the emulated machine.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Prng } from '../../src/base/prng.ts';
import { WtError } from '../../src/wt/errors.ts';
import { fnvhash64, ScrambledZipfianGenerator, ZipfianGenerator } from '../../src/ycsb/generators.ts';
import { parseProperties } from '../../src/ycsb/properties.ts';
import { ycsbLoadEmulated, ycsbRunEmulated } from '../../src/ycsb/runner.ts';
import { buildKeyName, CoreWorkload, workloadSpec } from '../../src/ycsb/workload.ts';

test('the properties format: separators, comments, continuations, escapes, last wins', () => {
  const p = parseProperties('# c\n! c\n a=1\nb : 2\nc 3\nd=x\\\n   y\ne=t\\tab\\u0041\na=4\nempty=\n', 'p');
  assert.deepEqual([...p.entries()], [['a', '4'], ['b', '2'], ['c', '3'], ['d', 'xy'], ['e', 't\tabA'], ['empty', '']]);
  assert.throws(() => parseProperties('x=\\u00zz', 'bad.properties'), (e: unknown) => e instanceof WtError && /bad\.properties:1/.test(e.message));
});

test('FNV-64 and key names as YCSB builds them', () => {
  // values of Utils.fnvhash64 (computed independently)
  assert.equal(fnvhash64(0n), 6284781860667377211n);
  assert.equal(fnvhash64(1n), 8517097267634966620n);
  assert.equal(fnvhash64(12345n), 1792800413050876852n);
  assert.equal(buildKeyName(1, 1, false), 'user8517097267634966620');
  assert.equal(buildKeyName(7, 5, true), 'user00007');
});

test('zipfian: item 0 takes the share 1/zeta(n) of draws; scrambled zipfian stays in range and is skewed', () => {
  const rng = new Prng(4);
  const n = 1000;
  const z = new ZipfianGenerator(rng, 0, n - 1);
  let zeta = 0;
  for (let i = 1; i <= n; i++) zeta += 1 / Math.pow(i, 0.99);
  const draws = 100_000;
  let zeros = 0;
  for (let i = 0; i < draws; i++) {
    const v = z.next();
    assert.ok(v >= 0 && v < n);
    if (v === 0) zeros++;
  }
  assert.ok(Math.abs(zeros / draws - 1 / zeta) < 0.01, `P(0) = ${zeros / draws}, expected ${1 / zeta}`);
  const s = new ScrambledZipfianGenerator(rng, 0, n - 1);
  const counts = new Map<number, number>();
  for (let i = 0; i < draws; i++) {
    const v = s.next();
    assert.ok(v >= 0 && v < n);
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  const top = Math.max(...counts.values());
  assert.ok(top > draws / 50, `the hottest key has ${top} of ${draws} draws`);
});

test('the core workload files: their mixes and distributions', () => {
  const spec = (w: string) => workloadSpec(parseProperties(readFileSync(`workloads/ycsb/workload${w}`, 'utf8')), w);
  assert.deepEqual(spec('a').proportions, { READ: 0.5, UPDATE: 0.5, INSERT: 0, SCAN: 0, READMODIFYWRITE: 0 });
  assert.equal(spec('c').proportions.READ, 1);
  assert.equal(spec('d').requestDistribution, 'latest');
  assert.equal(spec('e').maxScanLength, 100);
  assert.equal(spec('f').proportions.READMODIFYWRITE, 0.5);
  // the mix of workload B as drawn
  const w = new CoreWorkload(spec('b'), 9);
  const n = 20_000;
  let reads = 0;
  for (let i = 0; i < n; i++) if (w.nextOperation().type === 'READ') reads++;
  assert.ok(Math.abs(reads / n - 0.95) < 0.01, `${reads / n} reads`);
  // latest: inserts advance the key space, reads favour the newest keys
  const d = new CoreWorkload({ ...spec('d'), recordCount: 1000, insertCount: 1000 }, 2);
  let recent = 0;
  for (let i = 0; i < 5000; i++) {
    const op = d.nextOperation();
    if (op.type === 'INSERT') d.acknowledgeInsert(op.keyNum);
    else if (op.keyNum > 900) recent++;
  }
  assert.ok(recent > 2000, `${recent} reads of the newest keys`);
  assert.throws(() => workloadSpec(new Map([['requestdistribution', 'hotspot']]), 'x'), (e: unknown) => e instanceof WtError && /requestdistribution=hotspot/.test(e.message));
});

test('a YCSB run on the emulated machine is deterministic and its reads find their records', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ycsb-det-'));
  try {
    const props = parseProperties(readFileSync('workloads/ycsb/workloada', 'utf8'));
    props.set('recordcount', '400');
    props.set('operationcount', '300');
    const spec = workloadSpec(props, 'workloada');
    const runs = [0, 1].map((i) => {
      const imagePath = join(dir, `a${i}.img`);
      const load = ycsbLoadEmulated({ imagePath, spec, threads: 2, seed: 5 });
      const run = ycsbRunEmulated({ imagePath, spec, threads: 3, seed: 5, mode: 'read', cacheFraction: 0.05 });
      return { load, run };
    });
    assert.deepEqual(runs[0], runs[1]);
    const r = runs[0]!.run;
    assert.equal((r.perOp.READ?.count ?? 0) + (r.perOp.UPDATE?.count ?? 0), 300);
    assert.equal(r.perOp.READ?.notFound ?? 0, 0);
    assert.equal(r.perOp.UPDATE?.notFound ?? 0, 0);
    assert.ok(r.tree.pageReads > 50 && r.opsPerSec > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
