// Instruction counts of a fresh process's first verification, phase by phase:
// the same child as bench/verifier-vs-linux.ts (bench/verifier-cold-child.mjs)
// under valgrind's callgrind, which dumps the main thread's count each time the
// child calls process.cpuUsage() at a phase boundary. Unlike wall or CPU time on
// a shared machine these are repeatable (loading and the ELF loader to about
// 0.1 million instructions; a verification moves by a million or two with
// where a garbage collection falls), so they show changes of a fraction of a
// millisecond. Phases: node (Node's own start, not ours), load (node:v8 and
// our loader), elf (reading the object, the ELF loader), verify (the first
// verify()); mode bare: floor (one empty module imported, the object read).
//   node bench/verifier-ir.mjs [--before DIR] [OBJECT PROGRAM]...
// Needs valgrind and a build (npm run build) of each checkout.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
// The command line, checked as bench/args.ts checks the TypeScript scripts' (this one runs without tsx).
const USAGE = `Usage: node bench/verifier-ir.mjs [--before DIR] [OBJECT PROGRAM]...
  --before DIR     also count another checkout (built with npm run build)
  OBJECT PROGRAM   pairs of an object file and a program in it
                   (default bpf/structures/array_chain.bpf.o array_chain bpf/kv/get.bpf.o kv_get)
`;
let cl;
try {
  cl = parseArgs({ options: { before: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true });
} catch (e) {
  if (!String(e?.code).startsWith('ERR_PARSE_ARGS')) throw e;
  usageError(e.message.replace(/\. To specify a positional argument[^]*$/, '').replace(/\s*\n\s*/g, ' '));
}
if (cl.values.help === true) {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (cl.positionals.length % 2 !== 0) usageError(`OBJECT PROGRAM come in pairs; '${cl.positionals.at(-1)}' has no program`);
const before = cl.values.before;
const programs = [];
for (let i = 0; i + 1 < cl.positionals.length; i += 2) programs.push([cl.positionals[i], cl.positionals[i + 1]]);

function usageError(message) {
  process.stderr.write(`bench/verifier-ir.mjs: ${message}\n${USAGE}`);
  process.exit(2);
}
if (programs.length === 0) programs.push(['bpf/structures/array_chain.bpf.o', 'array_chain'], ['bpf/kv/get.bpf.o', 'kv_get']);
if (spawnSync('valgrind', ['--version']).status !== 0) throw new Error('valgrind is not installed');

/** Main-thread instructions (millions) between the child's process.cpuUsage() calls. */
function phases(checkout, object, program, mode) {
  const dir = mkdtempSync(join(tmpdir(), 'verifier-ir-'));
  try {
    const out = join(dir, 'cg');
    const r = spawnSync(
      'valgrind',
      ['--tool=callgrind', '--separate-threads=yes', '--dump-before=*CPUUsage*', `--callgrind-out-file=${out}`, process.execPath, join(root, 'bench/verifier-cold-child.mjs'), checkout, object, program, '0', mode],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`callgrind of ${program} (${mode}) failed: ${r.stderr.slice(-2000)}`);
    const json = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
    // one file per dump of the main thread (thread 1): cg.N-01, N = 1, 2, ...; the last (after the final marker) is the exit
    const parts = readdirSync(dir)
      .map((name) => /^cg\.(\d+)-01$/.exec(name))
      .filter((m) => m !== null)
      .sort((a, b) => Number(a[1]) - Number(b[1]))
      .map((m) => {
        const text = readFileSync(join(dir, m[0]), 'utf8');
        const total = /^(?:summary|totals): (\d+)/m.exec(text);
        return total === null ? Number.NaN : Number(total[1]) / 1e6;
      });
    return { parts, codeCache: json.codeCache ?? '-' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const checkouts = [['this', root], ...(before !== undefined ? [['before', before]] : [])];
console.log('# millions of instructions of the main thread (callgrind), per phase of a fresh process');
console.log('program       | checkout | node start | load  | elf   | verify | ours (load+elf+verify) | bare floor | code cache');
for (const [object, program] of programs) {
  const floor = phases(root, object, program, 'bare').parts;
  for (const [name, checkout] of checkouts) {
    const { parts, codeCache } = phases(checkout, object, program, 'verify');
    // parts: node start (to the child's first marker), then: the marker before t0, load, elf, verify
    const [start = Number.NaN, load = Number.NaN, elf = Number.NaN, verify = Number.NaN] = parts;
    const f = (x) => x.toFixed(2).padStart(5);
    console.log(`${program.padEnd(13)} | ${name.padEnd(8)} | ${start.toFixed(1).padStart(10)} | ${f(load)} | ${f(elf)} | ${f(verify).padStart(6)} | ${(load + elf + verify).toFixed(2).padStart(22)} | ${(floor[1] ?? Number.NaN).toFixed(2).padStart(10)} | ${codeCache}`);
  }
}
