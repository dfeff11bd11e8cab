// Start-up time of the `xrp` command: `xrp --help` (parse the command line, print the
// help, exit) as the compiled package runs it (node bin/xrp.js, JavaScript from dist/)
// and as the sources run it through tsx (node --import tsx src/cli/main.ts, which is
// what bin/xrp.js did before the package was compiled). The two are interleaved, round
// by round, so both see the same machine load. Needs a build (npm run build).
// Run: npm run bench:startup [-- ROUNDS] [-- ARGS...]

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const rounds = Number(process.argv[2] ?? 10);
const args = process.argv.length > 3 ? process.argv.slice(3) : ['--help'];
if (!Number.isSafeInteger(rounds) || rounds < 1) throw new Error(`ROUNDS must be a positive integer, got '${process.argv[2]}'`);
if (!existsSync(`${root}dist/cli/main.js`)) throw new Error('dist/ is missing: run npm run build first');

const variants = [
  { name: 'compiled: node bin/xrp.js', argv: ['bin/xrp.js', ...args] },
  { name: 'sources:  node --import tsx src/cli/main.ts', argv: ['--import', 'tsx', 'src/cli/main.ts', ...args] },
];
const timesMs: number[][] = variants.map(() => []);

for (let round = 0; round <= rounds; round++) {
  variants.forEach((v, i) => {
    const startNs = process.hrtime.bigint();
    const r = spawnSync(process.execPath, v.argv, { cwd: root, encoding: 'utf8' });
    const elapsedMs = Number(process.hrtime.bigint() - startNs) / 1e6;
    if (r.status !== 0) throw new Error(`${v.name} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    if (round > 0) timesMs[i]!.push(elapsedMs); // round 0 warms the disk cache
  });
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
console.log(`xrp ${args.join(' ')}: wall time per run, ${rounds} interleaved rounds (node ${process.version})`);
variants.forEach((v, i) => {
  const sorted = [...timesMs[i]!].sort((a, b) => a - b);
  console.log(`  ${v.name.padEnd(46)} min ${pct(sorted, 0).toFixed(0)} ms, median ${pct(sorted, 0.5).toFixed(0)} ms, max ${pct(sorted, 1).toFixed(0)} ms`);
});
