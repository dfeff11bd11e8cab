// A reporter for Node's test runner (node --test-reporter=./scripts/test-reporter.mjs):
// one line per top-level test naming its file, the failures in full, then the totals
// and the slowest tests, so a slow or failing test is found by file at a glance.
import { relative } from 'node:path';

const SLOWEST_SHOWN = 12;

export default async function* reporter(source) {
  const done = [];
  const failures = [];
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for await (const event of source) {
    const data = event.data ?? {};
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    // top-level tests only (nesting 0); a file's own wrapper event has no `file` detail of its tests
    if (data.nesting !== 0) continue;
    const file = data.file === undefined ? '?' : relative(process.cwd(), data.file);
    const ms = data.details?.duration_ms ?? 0;
    if (data.skip !== undefined && data.skip !== false) {
      skipped++;
      yield `- ${file}: ${data.name} (skipped${typeof data.skip === 'string' ? `: ${data.skip}` : ''})\n`;
      continue;
    }
    done.push({ file, name: data.name, ms });
    if (event.type === 'test:pass') {
      passed++;
      yield `ok   ${file}: ${data.name} (${(ms / 1000).toFixed(1)} s)\n`;
    } else {
      failed++;
      const error = data.details?.error;
      const cause = error?.cause ?? error;
      const text = cause?.stack ?? cause?.message ?? String(cause);
      failures.push(`FAIL ${file}: ${data.name}\n${String(text).replace(/^/gm, '     ')}\n`);
      yield `FAIL ${file}: ${data.name} (${(ms / 1000).toFixed(1)} s)\n`;
    }
  }
  if (failures.length > 0) yield `\n== failures\n${failures.join('\n')}`;
  const slowest = [...done].sort((a, b) => b.ms - a.ms).slice(0, SLOWEST_SHOWN);
  yield `\n== slowest tests\n${slowest.map((t) => `${(t.ms / 1000).toFixed(1).padStart(7)} s  ${t.file}: ${t.name}`).join('\n')}\n`;
  // the plain closing line CI reads: "tests: N passed, N failed, N skipped" alone on a line
  yield `\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`;
}
