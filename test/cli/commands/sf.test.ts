// xrp sf run: any storage function over any file, on the emulated machine (read()
// walk against read_xrp) and on the native engine; and xrp kv get|range --prog, a
// storage function of one's own in place of the shipped kv_get / kv_range.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { XrpError } from '../../../src/base/errors.ts';
import { register as registerKv } from '../../../src/cli/commands/kv.ts';
import { register as registerSf } from '../../../src/cli/commands/sf.ts';
import { UsageError } from '../../../src/cli/errors.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const CHAIN = join(root, 'bpf/examples/chain.bpf.o');

async function run(...args: string[]): Promise<string> {
  const program = new Command('xrp').exitOverride().configureOutput({ writeErr: () => {} });
  registerSf(program);
  registerKv(program);
  const lines: string[] = [];
  const log = console.log;
  console.log = (...parts: unknown[]) => void lines.push(parts.join(' '));
  const exitCode = process.exitCode;
  try {
    await program.parseAsync(args, { from: 'user' });
  } finally {
    console.log = log;
    process.exitCode = exitCode;
  }
  return lines.join('\n') + '\n';
}

/** A file of 512-byte blocks where each block of the chain starts with the offset of the next (0 ends). */
function chainFile(path: string, blocks: number[]): void {
  const bytes = new Uint8Array(512 * 64);
  const view = new DataView(bytes.buffer);
  blocks.forEach((b, i) => view.setBigUint64(b * 512, BigInt((blocks[i + 1] ?? 0) * 512), true));
  writeFileSync(path, bytes);
}

test('xrp sf run: a chain walked with read() and with read_xrp on the emulated machine, and on the native engine', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sf-cli-'));
  try {
    const data = join(dir, 'chain.bin');
    chainFile(data, [5, 9, 2, 33, 17, 40, 8]);
    let out = await run('sf', 'run', CHAIN, data, '--offset', String(5 * 512), '--show-scratch', '8');
    assert.match(out, /^read\(\) +DONE +7 block\(s\) read, +7 syscall\(s\), latency [\d,]+ ns \(virtual\)$/m);
    assert.match(out, /^read_xrp +DONE +7 block\(s\) read, 6 resubmission\(s\)$/m);
    assert.match(out, /^1 call\(s\), 1 in flight: latency mean [\d,]+ ns, p50 [\d,]+ ns, p99 [\d,]+ ns, p99\.9 [\d,]+ ns, max [\d,]+ ns; [\d,]+ calls\/s$/m);
    assert.doesNotMatch(out, /start-up/, 'a virtual-time report holds no host-time figure');
    assert.match(out, /final scratch identical/);
    assert.match(out, /^ {2}0000: 07 00 00 00 00 00 00 00$/m, 'chain.bpf.c counts its hops in scratch[0..8)');
    const json = JSON.parse(await run('sf', 'run', CHAIN, data, '--offset', String(5 * 512), '--json')) as { read: { latencyNs: number }; latency: { meanNs: number }; first: { reads: number }; sameScratch: boolean };
    assert.ok(json.latency.meanNs < json.read.latencyNs, 'read_xrp saves the syscalls of every hop after the first');
    assert.equal(json.first.reads, 7);
    assert.equal(json.sameScratch, true);
    // virtual time: the same report for the same seed
    assert.equal(await run('sf', 'run', CHAIN, data, '--offset', String(5 * 512), '--json'), await run('sf', 'run', CHAIN, data, '--offset', String(5 * 512), '--json'));
    // a start in the middle of the chain, with a scratch page from a file
    const scratch = join(dir, 'scratch.bin');
    writeFileSync(scratch, new Uint8Array([100, 0, 0, 0, 0, 0, 0, 0]));
    out = await run('sf', 'run', CHAIN, data, '--offset', String(17 * 512), '--scratch', scratch, '--show-scratch', '8');
    assert.match(out, /^read_xrp +DONE +3 block\(s\) read/m);
    assert.match(out, /^ {2}0000: 67 00 00 00 00 00 00 00$/m, '100 + 3 hops');

    out = await run('sf', 'run', CHAIN, data, '--offset', String(5 * 512), '--engine', 'native', '--requests', '20', '--threads', '2', '--show-scratch', '8');
    assert.match(out, /^read_xrp +DONE +7 block\(s\) read, 6 resubmission\(s\)$/m);
    assert.match(out, /start-up \(workers, verify, JIT\): [\d.]+ ms, not counted below/);
    assert.match(out, /20 call\(s\), 2 in flight: latency mean [\d.]+ us, p50 [\d.]+ us, p99 [\d.]+ us, p99\.9 [\d.]+ us, max [\d.]+ us; [\d,]+ calls\/s/);
    assert.match(out, /^ {2}0000: 07 00 00 00 00 00 00 00$/m);

    for (const [args, re] of [
      [['sf', 'run', CHAIN, data, '--offset', '100'], /--offset 100 is not a multiple of 512/],
      [['sf', 'run', CHAIN, data, '--threads', '2'], /--threads applies to --engine native/],
      [['sf', 'run', CHAIN, data, '--engine', 'native', '--device', 'tlc-980pro'], /--engine native cannot honour --device/],
      [['sf', 'run', CHAIN, dir], /DATA '.*' is a directory; give a file/],
      [['sf', 'run', CHAIN, data, '--section', 'nope'], /no program in section or named "nope"; programs: chain \(section xrp\)/],
      [['sf', 'run', CHAIN, data, '--size', '8192'], /argument '8192' is invalid\. must be an integer from 512 to 4096/],
    ] as [string[], RegExp][]) {
      await assert.rejects(run(...args), (e: unknown) => (e instanceof UsageError || e instanceof CommanderError) && re.test(e.message), args.join(' '));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('xrp kv get|range --prog: one\'s own storage function with the BPF-KV scratch layout, emulated and native', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sf-kv-'));
  try {
    const raw = join(dir, 'kv.raw');
    await run('kv', 'create', raw, '--layers', '2', '--raw');
    const get = join(root, 'bpf/kv/get.bpf.o');
    const range = join(root, 'bpf/kv/range.bpf.o');
    let out = await run('kv', 'get', raw, '--key', '5,960', '--prog', get, '--section', 'kv_get');
    assert.match(out, /storage function kv_get of .*get\.bpf\.o/);
    assert.match(out, /^key 5: "5"\nkey 960: "960"$/m);
    out = await run('kv', 'get', raw, '--key', '5', '--prog', get, '--engine', 'native');
    assert.match(out, /^key 5: "5"$/m);
    assert.match(out, /native engine \(the real file, host time\), kv_get;/);
    out = await run('kv', 'range', raw, '10', '20', '--agg', 'sum', '--prog', range);
    assert.match(out, /^sum of 10 key\(s\) = 145$/m);
    assert.match(out, /\(1 kv_range call\(s\) per query\)/);
    // a storage function without the layout: a typed error, not a wrong answer
    await assert.rejects(run('kv', 'get', raw, '--key', '5', '--prog', CHAIN), (e: unknown) => e instanceof XrpError && /kv_get|chain|scratch/.test(e.message));
    await assert.rejects(run('kv', 'get', raw, '--key', '5', '--prog', get, '--mode', 'read'), /--prog runs a storage function, which needs --mode xrp/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
