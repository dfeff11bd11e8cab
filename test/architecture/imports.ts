// The import graph of the repository's TypeScript, read from the sources: every
// static import, re-export and dynamic import with a relative specifier.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Files under `dir` (relative to the root) whose name ends with one of `extensions`, sorted. */
export function filesUnder(dir: string, extensions: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(join(ROOT, d)).sort()) {
      const path = join(d, name);
      if (name === 'node_modules' || name.startsWith('.')) continue;
      if (statSync(join(ROOT, path)).isDirectory()) walk(path);
      else if (extensions.some((e) => name.endsWith(e))) out.push(path);
    }
  };
  walk(dir);
  return out;
}

export interface ImportEdge {
  /** The importing file, relative to the root. */
  from: string;
  /** The imported file, relative to the root. */
  to: string;
  line: number;
}

const IMPORT = /(?:^|[^.\w])(?:import|export)\s[^'";]*?from\s*'(\.[^']*)'|(?:^|[^.\w])import\s*'(\.[^']*)'|(?:^|[^.\w])import\(\s*'(\.[^']*)'\s*\)/gm;

/** The relative imports of `file` (relative to the root). */
export function importsOf(file: string): ImportEdge[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const out: ImportEdge[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec === undefined) continue;
    const to = relative(ROOT, resolve(ROOT, dirname(file), spec));
    const line = text.slice(0, m.index).split('\n').length;
    out.push({ from: file, to, line });
  }
  return out;
}
