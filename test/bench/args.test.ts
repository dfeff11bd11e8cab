import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { benchArgs, type BenchIo } from '../../bench/args.ts';

/** What a command line printed and how it ended; `exit` throws so that the script stops as process.exit would. */
class Exited extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function capture(): BenchIo & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out(text: string): void {
      io.stdout += text;
    },
    err(text: string): void {
      io.stderr += text;
    },
    exit(code: number): never {
      throw new Exited(code);
    },
  };
  return io;
}

const USAGE = 'Usage: bench/demo.ts [--repeat N] [--ms N] [--quiet]';
const spec = {
  script: 'bench/demo.ts',
  usage: USAGE,
  options: {
    repeat: { type: 'string', default: '5' },
    ms: { type: 'string', default: '20' },
    quiet: { type: 'boolean', default: false },
  },
} as const;

/** Runs `fn` on a captured command line and returns the exit code it ended with. */
function exitCode(fn: () => unknown): number {
  try {
    fn();
  } catch (e) {
    if (e instanceof Exited) return e.code;
    throw e;
  }
  assert.fail('expected the command line to exit');
}

describe('benchArgs', () => {
  it('parses options, applying the defaults', () => {
    const io = capture();
    const cl = benchArgs(spec, ['--repeat', '3', '--quiet'], io);
    assert.equal(cl.values.repeat, '3');
    assert.equal(cl.values.ms, '20');
    assert.equal(cl.values.quiet, true);
    assert.equal(cl.positiveInt('--repeat', cl.values.repeat), 3);
    assert.equal(cl.positiveNumber('--ms', '0.5'), 0.5);
    assert.equal(cl.nonNegativeInt('--n', '0'), 0);
    assert.deepEqual(cl.positiveIntList('--threads', '1, 6,,12'), [1, 6, 12]);
    assert.deepEqual(cl.positionals, []);
    assert.equal(io.stdout + io.stderr, '');
  });

  for (const flag of ['--help', '-h']) {
    it(`${flag} prints the usage to stdout and exits 0`, () => {
      const io = capture();
      assert.equal(exitCode(() => benchArgs(spec, ['--repeat', '3', flag], io)), 0);
      assert.equal(io.stdout, `${USAGE}\n`);
      assert.equal(io.stderr, '');
    });
  }

  const bad: [string, string[], (cl: ReturnType<typeof benchArgs<typeof spec.options>>) => unknown, RegExp][] = [
    ['an unknown option', ['--repaet', '3'], () => undefined, /^bench\/demo\.ts: Unknown option '--repaet'\n/],
    ['a missing value', ['--repeat'], () => undefined, /^bench\/demo\.ts: Option '--repeat <value>' argument missing\n/],
    ['a positional where none is allowed', ['3'], () => undefined, /^bench\/demo\.ts: Unexpected argument '3'/],
    ['a value given to a flag', ['--quiet=yes'], () => undefined, /^bench\/demo\.ts: Option '--quiet' does not take an argument\n/],
    ['a number that does not parse', ['--repeat', 'abc'], (cl) => cl.positiveInt('--repeat', cl.values.repeat), /^bench\/demo\.ts: --repeat must be a positive integer, got 'abc'\n/],
    ['an empty number', ['--repeat', ''], (cl) => cl.positiveInt('--repeat', cl.values.repeat), /--repeat must be a positive integer, got ''/],
    ['zero where a positive integer is needed', ['--repeat', '0'], (cl) => cl.positiveInt('--repeat', cl.values.repeat), /--repeat must be a positive integer, got '0'/],
    ['a fraction where an integer is needed', ['--repeat', '2.5'], (cl) => cl.nonNegativeInt('--repeat', cl.values.repeat), /--repeat must be a non-negative integer, got '2.5'/],
    ['an integer over the maximum', ['--repeat', '2000'], (cl) => cl.positiveInt('--repeat', cl.values.repeat, 1024), /--repeat must be an integer 1\.\.1024, got '2000'/],
    ['a number that is not finite', ['--ms', 'Infinity'], (cl) => cl.finiteNumber('--ms', cl.values.ms), /--ms must be a finite number, got 'Infinity'/],
    ['a value that looks like an option', ['--ms', '-1'], () => undefined, /^bench\/demo\.ts: Option '--ms' argument is ambiguous\. Did you forget/],
    ['a non-positive number', ['--ms=-1'], (cl) => cl.positiveNumber('--ms', cl.values.ms), /--ms must be a number > 0, got '-1'/],
    ['a bad list item', ['--ms', '1,x'], (cl) => cl.positiveIntList('--ms', cl.values.ms), /--ms must be a comma-separated list of positive integers, got '1,x'/],
  ];
  for (const [what, argv, use, message] of bad) {
    it(`refuses ${what}: one line naming it and the usage on stderr, exit 2`, () => {
      const io = capture();
      assert.equal(exitCode(() => use(benchArgs(spec, argv, io))), 2);
      assert.match(io.stderr, message);
      assert.ok(io.stderr.endsWith(`\n${USAGE}\n`), io.stderr);
      assert.equal(io.stderr.split('\n').length, 3, io.stderr);
      assert.equal(io.stdout, '');
    });
  }

  it('allows positionals when asked', () => {
    const io = capture();
    const cl = benchArgs({ ...spec, positionals: true }, ['7', '--quiet'], io);
    assert.deepEqual(cl.positionals, ['7']);
    assert.equal(cl.positiveInt('ROUNDS', cl.positionals[0]), 7);
  });

  it('fail() names the script and exits 2', () => {
    const io = capture();
    const cl = benchArgs(spec, [], io);
    assert.equal(exitCode(() => cl.fail('--path must be read or raw')), 2);
    assert.equal(io.stderr, `bench/demo.ts: --path must be read or raw\n${USAGE}\n`);
  });
});

// Real scripts, each of which stops at its command line (none runs a benchmark on these).
describe('bench scripts on --help and an unknown option', () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const scripts: [string, string[]][] = [
    ['bench/asm.ts', ['--import', 'tsx']],
    ['bench/sim.ts', ['--import', 'tsx']],
    ['bench/ycsb.ts', ['--import', 'tsx']],
    ['bench/startup.ts', ['--import', 'tsx']],
    ['bench/verifier-ir.mjs', []],
  ];
  for (const [script, flags] of scripts) {
    const run = (...args: string[]): SpawnSyncReturns<string> =>
      spawnSync(process.execPath, [...flags, script, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    it(`${script} --help prints its usage and exits 0`, () => {
      const r = run('--help');
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^Usage: /);
      assert.equal(r.stderr, '');
    });
    it(`${script} --bogus says so, prints its usage and exits 2, without a stack trace`, () => {
      const r = run('--bogus');
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, new RegExp(`^${script.replace(/[.]/g, '\\.')}: Unknown option '--bogus'\nUsage: `));
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    });
  }

  it('bench/asm.ts refuses a bad ROUNDS instead of printing NaN figures', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/asm.ts', 'many'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^bench\/asm\.ts: ROUNDS must be a positive integer, got 'many'\n/);
    assert.doesNotMatch(r.stdout + r.stderr, /NaN/);
  });
});
