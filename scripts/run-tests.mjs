#!/usr/bin/env node
// Runs the tests with Node's built-in runner (Node 20 has no glob for --test).
//
//   node scripts/run-tests.mjs            every test/**/*.test.ts (what `npm test` and CI run)
//   node scripts/run-tests.mjs --fast     the fast tier for daily work: all but the SLOW files below
//   node scripts/run-tests.mjs FILE...    only these files
// Extra arguments go to the runner (`-- --test-name-pattern=verifier`). The output names
// each test's file, then lists the failures and the slowest tests (scripts/test-reporter.mjs);
// `--reporter=spec` (or tap) uses one of Node's reporters instead.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

/**
 * Files the fast tier leaves out: the slowest ones of a full run (the "slowest tests"
 * list of this runner; each took 9 s or more on the shared 2-core machine): a headless
 * browser, npm pack and install, benchmark sweeps, fuzzing and differential runs, the
 * kernel through bpftool, CLI end-to-end tests that spawn node. They still run in
 * `npm test` (CI).
 */
export const SLOW = [
  'test/bench/experiments.test.ts',
  'test/bench/framework.test.ts',
  'test/bench/report.test.ts',
  'test/bench/shard.test.ts',
  'test/bpf/asm.test.ts',
  'test/bpf/bpf-objects.test.ts',
  'test/bpf/disasm.test.ts',
  'test/bpf/elf-dump.test.ts',
  'test/bpf/elf-fuzz.test.ts',
  'test/bpf/interp-cli.test.ts',
  'test/bpf/jit/differential.test.ts',
  'test/bpf/jit/storage-functions.test.ts',
  'test/bpf/verifier/objects.test.ts',
  'test/bpf/verifier/soundness.test.ts',
  'test/bpf/verifier/verify-cli.test.ts',
  'test/cli/command-table.test.ts',
  'test/cli/commands/asm.test.ts',
  'test/cli/commands/bench.test.ts',
  'test/cli/commands/kv.test.ts',
  'test/cli/commands/struct.test.ts',
  'test/cli/commands/sf.test.ts',
  'test/cli/commands/ycsb.test.ts',
  'test/device/image-store.test.ts',
  'test/fuzz.test.ts',
  'test/kernel/cli.test.ts',
  'test/kernel/stack-breakdown.test.ts',
  'test/kernel/xrp/statuses.test.ts',
  'test/kv/corrupt-agreement.test.ts',
  'test/kv/modes.test.ts',
  'test/kv/originals.test.ts',
  'test/kv/storage-functions.test.ts',
  'test/package/pack.test.ts',
  'test/wt/emulated.test.ts',
  'test/wt/model.test.ts',
];

function collect(dir) {
  const found = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...collect(path));
    else if (name.endsWith('.test.ts')) found.push(path);
  }
  return found;
}

let args = process.argv.slice(2);
const fast = args.includes('--fast');
const reporterArg = args.find((a) => a.startsWith('--reporter='));
args = args.filter((a) => a !== '--fast' && a !== reporterArg);
const named = args.filter((a) => a.endsWith('.ts'));
const passThrough = args.filter((a) => !a.endsWith('.ts'));
const files = named.length > 0 ? named : collect('test').filter((f) => !fast || !SLOW.includes(f));
const reporter = reporterArg === undefined ? './scripts/test-reporter.mjs' : reporterArg.slice('--reporter='.length);
// The fast tier runs two files at once (most of a file's time is starting node and tsx);
// the full suite keeps Node's default, one file at a time on this 2-core machine.
const concurrency = fast ? ['--test-concurrency=2'] : [];
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', ...concurrency, `--test-reporter=${reporter}`, '--test-reporter-destination=stdout', ...passThrough, ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
