// Longer fuzzing of loaders and engines (test/fuzz.test.ts runs a few seconds of it):
//   node --import tsx scripts/fuzz.ts [--seed S] [--count N] [--seconds T] [--kinds elf,kv,image] [--timeout-ms MS] [--verbose]
// Prints the seed, the totals per kind, and every failure (crash, hang,
// disagreement) with the seed that repeats it. Exit status 1 if any failure.

import { FUZZ_KINDS, runFuzz, type FuzzKind } from '../test/helpers/fuzz.ts';

function opt(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

const seed = Number(opt('seed') ?? Date.now() % 1_000_000_000);
const count = opt('count') !== undefined ? Number(opt('count')) : undefined;
const seconds = opt('seconds') !== undefined ? Number(opt('seconds')) : count === undefined ? 60 : undefined;
const kinds = (opt('kinds') ?? FUZZ_KINDS.join(',')).split(',') as FuzzKind[];
for (const k of kinds) if (!FUZZ_KINDS.includes(k)) throw new Error(`--kinds: unknown kind '${k}' (${FUZZ_KINDS.join(', ')})`);
const verbose = process.argv.includes('--verbose');
console.log(`# fuzz seed ${seed}, kinds ${kinds.join(',')}, ${count !== undefined ? `${count} cases` : ''}${seconds !== undefined ? ` ${seconds} s` : ''}`);
const totals = await runFuzz({
  seed,
  kinds,
  ...(count !== undefined ? { count } : {}),
  ...(seconds !== undefined ? { seconds } : {}),
  ...(opt('timeout-ms') !== undefined ? { timeoutMs: Number(opt('timeout-ms')) } : {}),
  ...(verbose ? { onCase: (c, r) => console.log(`${c.kind} ${c.seed}: ${r.what} -> ${r.outcome}`) } : {}),
});
console.log(`# ${totals.cases} cases in ${totals.seconds.toFixed(1)} s: ${Object.entries(totals.byKind).map(([k, n]) => `${k} ${n}`).join(', ')}; ${totals.hangs} hangs, ${totals.failures.length} failures`);
for (const f of totals.failures) console.log(`FAIL ${f.kind} seed ${f.seed}: ${f.what}\n  ${f.outcome}`);
process.exit(totals.failures.length > 0 ? 1 : 0);
