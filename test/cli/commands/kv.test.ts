// xrp kv create|get|range: in process through commander (fast), and a few
// times as a user would run it (exit status and stderr).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { XrpError } from '../../../src/base/errors.ts';
import { register } from '../../../src/cli/commands/kv.ts';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));

function xrp(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `xrp ARGS` in this process; returns what it printed. */
async function run(...args: string[]): Promise<string> {
  const program = new Command('xrp').exitOverride().configureOutput({ writeErr: () => {} });
  register(program);
  const lines: string[] = [];
  const log = console.log;
  console.log = (...parts: unknown[]) => void lines.push(parts.join(' '));
  try {
    await program.parseAsync(args, { from: 'user' });
  } finally {
    console.log = log;
  }
  return lines.join('\n') + '\n';
}
const ok = run;

test('xrp kv: create an image, get keys in each mode, ranges with aggregations, a 6-layer computed DB, a plain file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kv-cli-'));
  try {
    const db = join(dir, 'db.img');
    assert.match(await ok('kv', 'create', db, '--layers', '2'), /BPF-KV, 2 layer\(s\), 961 keys, 78,336 bytes, written/);
    let out = await ok('kv', 'get', db, '--key', '5,961,0x10');
    assert.match(out, /^key 5: "5"$/m);
    assert.match(out, /^key 961: not found$/m);
    assert.match(out, /^key 16: "16"$/m);
    assert.match(out, /mode xrp on 6 simulated core\(s\), optane-p5800x; 3 request\(s\) of 1 key\(s\), 1 thread\(s\)/);
    assert.match(out, /latency per request \(virtual time\): mean [\d,]+ ns, p50 [\d,]+ ns, p99 [\d,]+ ns, p99\.9 [\d,]+ ns/);
    assert.match(out, /throughput \(virtual time\): [\d,]+ requests\/s, [\d,]+ keys\/s over [\d,]+ ns; 3 read_xrp call\(s\), [\d,]+ block reads$/m);
    const json = JSON.parse(await ok('kv', 'get', db, '--key', '7', '--mode', 'read', '--requests', '40', '--threads', '4', '--json')) as {
      mode: string; requests: number; deviceReads: number; latency: { meanNs: number }; answers: { key: string; found: boolean; value: string }[];
    };
    assert.equal(json.mode, 'read');
    assert.equal(json.requests, 40);
    assert.equal(json.deviceReads, 40 * 3);
    assert.ok(json.latency.meanNs > 3 * 6272);
    assert.deepEqual(json.answers[39], { key: '7', found: true, value: '7' });

    out = await ok('kv', 'get', db, '--key', '1,2,3,999', '--keys-per-request', '4', '--mode', 'uring', '--uring-batch');
    assert.match(out, /^key 3: "3"\nkey 999: not found$/m);
    assert.match(out, /1 request\(s\) of 4 key\(s\)/);
    out = await ok('kv', 'range', db, '100', '200', '--agg', 'sum', '--mode', 'spdk');
    assert.match(out, /^sum of 100 key\(s\) = 14950$/m);
    out = await ok('kv', 'range', db, '10', '20', '--agg', 'array', '--end-inclusive', '--begin-exclusive');
    assert.match(out, /range \[10, 20\] \(begin excluded\)/);
    assert.match(out, /^array of 10 key\(s\): 10 number\(s\): 11, 12, 13, 14, 15, 16, 17, 18, 19, 20$/m);
    out = await ok('kv', 'range', db, '0', '40', '--show', '2', '--mode', 'uring');
    assert.match(out, /^40 pair\(s\)\n {2}0: "0"\n {2}1: "1"\n {2}\.\.\. \(38 more\)$/m);

    const deep = join(dir, 'deep.img');
    assert.match(await ok('kv', 'create', deep, '--layers', '6'), /887,503,681 keys, 71,946,965,504 bytes, computed/);
    assert.ok(statSync(deep).blocks * 512 < 4 << 20, 'sparse');
    out = await ok('kv', 'get', deep, '--key', '887503680');
    assert.match(out, /^key 887503680: "887503680"$/m);
    assert.match(out, /1 read_xrp call\(s\), 7 block reads/);

    const raw = join(dir, 'raw.db');
    assert.match(await ok('kv', 'create', raw, '--layers', '1', '--raw'), /BPF-KV file, 1 layer\(s\), 31 keys, 2,560 bytes/);
    assert.match(await ok('kv', 'get', raw, '--key', '30', '--mode', 'read'), /^key 30: "30"$/m);
    // The native engine reads the plain file itself (real time).
    out = await ok('kv', 'get', raw, '--key', '3,31', '--engine', 'native');
    assert.match(out, /^key 3: "3"\nkey 31: not found$/m);
    assert.match(out, /native engine \(the real file, host time\), kv_get; 2 request\(s\) of 1 key\(s\), 1 in flight/);
    assert.match(out, /start-up \(workers, verify, JIT\): [\d.]+ ms, not counted below/);
    assert.match(out, /latency per request \(host time\): mean [\d.]+ us, p50 [\d.]+ us, p99 [\d.]+ us, p99\.9 [\d.]+ us/);
    assert.match(out, /throughput \(host time\): [\d,]+ requests\/s, [\d,]+ keys\/s over [\d.]+ ms; 2 read_xrp call\(s\)/);
    // the native engine honours --requests, --keys-per-request and --threads (requests in flight)
    out = await ok('kv', 'get', raw, '--key', '1,2,3,4', '--engine', 'native', '--requests', '6', '--keys-per-request', '2', '--threads', '3');
    assert.match(out, /6 request\(s\) of 2 key\(s\), 3 in flight/);
    assert.match(out, /6 read_xrp call\(s\)/);
    out = await ok('kv', 'range', raw, '3', '7', '--agg', 'avg', '--engine', 'native');
    assert.match(out, /^avg of 4 key\(s\) = 4\.5$/m);
    // an exact average, not the storage function's floor
    assert.match(await ok('kv', 'range', db, '100', '120', '--agg', 'avg'), /^avg of 20 key\(s\) = 109\.5$/m);
    assert.match(await ok('kv', 'range', db, '100', '103', '--agg', 'avg', '--mode', 'read'), /^avg of 3 key\(s\) = 101$/m);
    // --force to overwrite
    await assert.rejects(ok('kv', 'create', raw, '--layers', '1', '--raw'), /'.*raw\.db' exists; add --force to overwrite it/);
    assert.match(await ok('kv', 'create', raw, '--layers', '1', '--raw', '--force'), /BPF-KV file, 1 layer/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('xrp kv: clear errors for bad keys, ranges, files and options', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kv-cli-'));
  try {
    const db = join(dir, 'db.img');
    await ok('kv', 'create', db, '--layers', '1');
    const junk = join(dir, 'junk');
    writeFileSync(junk, 'hello');
    const cases: [string[], RegExp][] = [
      [['kv', 'get', db, '--key', 'abc'], /'abc' must be an unsigned 64-bit integer/],
      [['kv', 'get', db, '--key', '18446744073709551616'], /larger than 2\^64 - 1/],
      [['kv', 'range', db, '9', '3'], /BEGIN 9 is after END 3/],
      [['kv', 'range', db, '1', '3', '--agg', 'median'], /option '--agg <op>' argument 'median' is invalid\. Allowed choices are none, count/],
      [['kv', 'get', join(dir, 'none.img'), '--key', '1'], /no such DB image/],
      [['kv', 'get', junk, '--key', '1'], /neither an xrpfs image nor a BPF-KV file/],
      [['kv', 'get', db, '--mode', 'fast'], /Allowed choices are read, uring, spdk, xrp/],
      [['kv', 'get', db, '--keys-per-request', '33'], /option '--keys-per-request <n>' argument '33' is invalid\. must be an integer from 1 to 32/],
      [['kv', 'get', db, '--key', '1', '--engine', 'native'], /--engine native reads a plain BPF-KV file/],
      [['kv', 'get', junk, '--key', '1', '--engine', 'native', '--mode', 'uring', '--cache', '1'], /--engine native cannot honour --mode uring, --cache/],
      [['kv', 'get', dir, '--key', '1'], /DB '.*' is a directory; give a file/],
      [['kv', 'create', join(dir, 'x.img'), '--layers', '7'], /--layers <n>' argument '7' is invalid\. must be an integer from 1 to 6/],
      [['kv', 'create', junk, '--layers', '1'], /exists; add --force to overwrite it/],
      [['kv', 'create', junk, '--layers', '1', '--force'], /not an xrpfs image; refusing to overwrite/],
      [['kv', 'get', db, '--key', '1', '--section', 'x'], /--section picks a program of --prog FILE\.o; give --prog/],
    ];
    for (const [args, re] of cases) {
      await assert.rejects(run(...args), (e: unknown) => (e instanceof XrpError || e instanceof CommanderError) && re.test(e.message), `xrp ${args.join(' ')}`);
    }
    // As a user sees them: usage errors (the parser's and our own) exit 2, failures exit 1; one line, no help dump.
    for (const [args, re, status] of [
      [cases[0]![0], /^xrp: option '--key <keys>' argument 'abc' is invalid/, 2],
      [cases[2]![0], /^xrp: BEGIN 9 is after END 3/, 2],
      [cases[5]![0], /^xrp: .*junk: neither an xrpfs image nor a BPF-KV file/, 1],
      [['kv', 'get', db, '--bogus'], /^xrp: unknown option '--bogus'\n\(add --help for usage\)\n$/, 2],
    ] as [string[], RegExp, number][]) {
      const r = xrp(...args);
      assert.equal(r.status, status, `xrp ${args.join(' ')}: status ${r.status}, ${r.stderr}`);
      assert.match(r.stderr, re, `xrp ${args.join(' ')}`);
      assert.doesNotMatch(r.stderr, /xrp: xrp:|Usage:/);
    }
    assert.match(xrp('kv', 'get', db, '--key', '3').stdout, /^key 3: "3"$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
