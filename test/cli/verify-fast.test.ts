// The lean way into `xrp verify` (src/cli/verify-fast.ts): it takes only plain
// command lines and leaves the rest to commander; whichever way a command line
// goes, `xrp verify` prints the same and exits the same as the full CLI.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseVerifyArgs } from '../../src/cli/verify-fast.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const OK = 'test/bpf/verifier/fixtures/btree_search.bpf.o';
const BAD = 'test/bpf/verifier/fixtures/bad_mask.bpf.o';

test('plain command lines are parsed as commander parses them', () => {
  assert.deepEqual(parseVerifyArgs([OK]), { file: OK, options: { type: 'xrp', memSize: 4096 } });
  assert.deepEqual(parseVerifyArgs(['--section', 'xrp', BAD, '--type', 'mem', '--mem-size', '100', '--insn-budget', '10', '--state-budget', '5', '--turbofan']), {
    file: BAD,
    options: { type: 'mem', memSize: 100, section: 'xrp', insnBudget: 10, stateBudget: 5, turbofan: true },
  });
});

test('anything else is left to commander', () => {
  for (const args of [
    [],
    ['--help'],
    ['-h'],
    [OK, BAD],
    [OK, '--section=xrp'],
    [OK, '--bogus'],
    [OK, '--type', 'tc'],
    [OK, '--type'],
    [OK, '--section', '--turbofan'],
    [OK, '--mem-size', '0'],
    [OK, '--insn-budget', '0x10'],
    [OK, '--insn-budget', '010'],
    [OK, '--insn-budget', '99999999999999999999'],
    [OK, '--type', 'xrp', '--type', 'mem'],
    [OK, '--'],
    ['-'],
  ]) {
    assert.equal(parseVerifyArgs(args), undefined, args.join(' '));
  }
});

function run(args: string[], compiled: boolean): { status: number | null; stdout: string; stderr: string } {
  const entry = compiled ? [`${root}bin/xrp.js`] : ['--import', 'tsx', `${root}src/cli/main.ts`];
  const r = spawnSync(process.execPath, [...entry, 'verify', ...args], { encoding: 'utf8', cwd: root });
  // the time of a verification differs from run to run
  return { status: r.status, stdout: r.stdout.replace(/\d+\.\d ms/g, 'T ms'), stderr: r.stderr };
}

test('bin/xrp.js (the lean way for plain lines) prints and exits as the full CLI does', { skip: !existsSync(`${root}dist/cli/verify-fast.js`) && 'no dist/ (npm run build)' }, () => {
  for (const args of [[OK], [BAD], [BAD, '--section', 'nosuch'], [OK, '--type', 'mem', '--mem-size', '64'], [OK, '--insn-budget', '5'], [`${root}no-such.o`], [OK, '--type', 'tc']]) {
    const lean = run(args, true);
    const full = run(args, false);
    assert.deepEqual(lean, full, args.join(' '));
  }
});
