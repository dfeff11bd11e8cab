// `xrp struct array` and `xrp struct skiplist`, run as a user would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MemoryFile } from '../../../src/structures/io.ts';
import { arrayChainQuery, buildArrayChain, walkArrayChain } from '../../../src/structures/array-chain.ts';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));

function xrp(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('xrp struct array prints the answer of the walk and both modes, with LIMIT counts', () => {
  const r = xrp('struct', 'array', '--elems', '3000', '--hops', '50', '--queries', '3', '--start', '17', '--limit', '9', '--seed', '4');
  assert.equal(r.status, 0, r.stderr);
  const file = new MemoryFile();
  buildArrayChain(file, { nElems: 3000, seed: 4 });
  const ref = walkArrayChain(file, arrayChainQuery(3000, 17, 50)).state;
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines[0], `start 17, 50 hops: final index ${ref.index}, last value ${ref.lastValue}, sum ${ref.sum}`);
  assert.match(lines[1]!, /^read  3 queries on 1 thread\(s\): latency mean \d+ ns.*50\.0 reads\/query; 150 syscalls; 3 answers verified$/);
  // 50 preads of Table 1's 6272 ns each (the device's mean), plus each sleeping read's 800 ns wake-up, within the device's sampling spread.
  const meanNs = Number(/latency mean (\d+) ns/.exec(lines[1]!)?.[1]);
  assert.ok(Math.abs(meanNs - 50 * (6272 + 800)) < 0.02 * 50 * 6272, `read mean ${meanNs} ns`);
  // limit 9: read_xrp makes 10 reads, then the user-space walk 40 preads
  assert.match(lines[2]!, /^xrp   3 queries .*50\.0 reads\/query; 123 syscalls; LIMIT 3, fallback reads 120; 3 answers verified$/);
});

test('xrp struct skiplist get and range; --json; bad flags are clear errors', () => {
  const get = xrp('struct', 'skiplist', '--keys', '500', '--key', '40', '--queries', '2', '--mode', 'xrp');
  assert.equal(get.status, 0, get.stderr);
  assert.match(get.stdout, /^get 40: found, value 2800000000000000(00)+\n/);
  const miss = xrp('struct', 'skiplist', '--keys', '500', '--key', '41', '--queries', '1', '--mode', 'read');
  assert.match(miss.stdout, /^get 41: not found\n/);
  const range = xrp('struct', 'skiplist', '--keys', '500', '--op', 'range', '--key', '10', '--range-keys', '40', '--queries', '1', '--json');
  assert.equal(range.status, 0, range.stderr);
  const results = JSON.parse(range.stdout) as Array<{ mode: string; sample: string; verified: number; calls: number }>;
  assert.deepEqual(results.map((x) => x.mode), ['read', 'xrp']);
  assert.equal(results[0]!.sample, 'range 10..88: 40 pairs, keys 10 to 88');
  assert.equal(results[1]!.calls, 2, 'two read_xrp calls for 40 pairs');
  // usage errors (exit 2) from the parser; a start outside the file is a failure of the run (exit 1)
  for (const [args, message, status] of [
    [['struct', 'array', '--hops', '0'], /option '--hops <k>' argument '0' is invalid\. must be an integer >= 1/, 2],
    [['struct', 'array', '--mode', 'mmap'], /argument 'mmap' is invalid\. Allowed choices are read, xrp, both/, 2],
    [['struct', 'array', '--elems', '10', '--start', '10'], /start index must be 0..9/, 1],
    [['struct', 'skiplist', '--op', 'scan'], /argument 'scan' is invalid\. Allowed choices are get, range/, 2],
    [['struct', 'skiplist', '--key', '-3'], /option '--key <k>' argument '-3' is invalid\. must be an integer >= 0/, 2],
    [['struct', 'skiplist', '--device', 'floppy'], /argument 'floppy' is invalid\. Allowed choices are optane-p5800x/, 2],
  ] as const) {
    const bad = xrp(...args);
    assert.equal(bad.status, status, `${args.join(' ')}: ${bad.stderr}`);
    assert.match(bad.stderr, message);
  }
});
