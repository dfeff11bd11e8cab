// Start-up time of the `xrp` command: `xrp --help` (parse the command line, print the
// help, exit) as the compiled package runs it (node bin/xrp.js, JavaScript from dist/)
// and as the sources run it through tsx (node --import tsx src/cli/main.ts, which is
// what bin/xrp.js did before the package was compiled), and bare `node -e ""` as the floor.
// They are interleaved, round by round, so all see the same machine load. Needs a build
// (npm run build).
// Run: npm run bench:startup [-- ROUNDS [--before DIR] [ARGS...]]; --before DIR adds
// `node DIR/bin/xrp.js` (another checkout, e.g. the commit before the package was
// compiled: git archive COMMIT | tar -x -C DIR, with a node_modules beside it).

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './args.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const argv = process.argv.slice(2);
const beforeAt = argv.indexOf('--before');
const before = beforeAt >= 0 ? argv.splice(beforeAt, 2)[1] : undefined;
// Only the first argument is ours (ROUNDS, or --help); the rest are the xrp command's, passed on as they are.
const cl = benchArgs(
  {
    script: 'bench/startup.ts',
    usage: 'Usage: npm run bench:startup [-- ROUNDS [--before DIR] [ARGS...]]\n' +
      '  ROUNDS        interleaved rounds (default 10)\n' +
      '  --before DIR  also time node DIR/bin/xrp.js (another checkout, with a node_modules beside it)\n' +
      '  ARGS...       the xrp command line to time (default --help)',
    options: {},
    positionals: true,
  },
  argv.slice(0, 1),
);
if (beforeAt >= 0 && (before === undefined || before.startsWith('-'))) cl.fail(`option '--before DIR' needs a directory`);
const rounds = cl.positiveInt('ROUNDS', argv[0] ?? '10');
const args = argv.length > 1 ? argv.slice(1) : ['--help'];
if (!existsSync(`${root}dist/cli/main.js`)) throw new Error('dist/ is missing: run npm run build first');

const variants = [
  { name: 'compiled: node bin/xrp.js', argv: ['bin/xrp.js', ...args] },
  { name: 'sources:  node --import tsx src/cli/main.ts', argv: ['--import', 'tsx', 'src/cli/main.ts', ...args] },
  // the floor: node starting and exiting, under the same load
  { name: 'floor:    node -e ""', argv: ['-e', ''] },
  ...(before !== undefined ? [{ name: `before:   node ${before}/bin/xrp.js`, argv: [`${before}/bin/xrp.js`, ...args] }] : []),
];
const timesMs: number[][] = variants.map(() => []);

for (let round = 0; round <= rounds; round++) {
  variants.forEach((v, i) => {
    const startNs = process.hrtime.bigint();
    const r = spawnSync(process.execPath, v.argv, { cwd: root, encoding: 'utf8' });
    const elapsedMs = Number(process.hrtime.bigint() - startNs) / 1e6;
    if (r.status !== 0) throw new Error(`${v.name} exited ${r.status}: ${r.stderr}`);
    if (round > 0) timesMs[i]!.push(elapsedMs); // round 0 warms the disk cache
  });
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
console.log(`xrp ${args.join(' ')}: wall time per run, ${rounds} interleaved rounds (node ${process.version})`);
variants.forEach((v, i) => {
  const sorted = [...timesMs[i]!].sort((a, b) => a - b);
  console.log(`  ${v.name.padEnd(52)} min ${pct(sorted, 0).toFixed(0)} ms, median ${pct(sorted, 0.5).toFixed(0)} ms, max ${pct(sorted, 1).toFixed(0)} ms`);
});
