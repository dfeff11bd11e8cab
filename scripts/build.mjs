#!/usr/bin/env node
// Builds dist/: the TypeScript sources compiled to JavaScript with declarations
// (tsconfig.build.json). Incremental: a build with nothing changed takes about a second,
// so `npm start` can build first. `--clean` removes dist/ before.
// Then the verify path (src/cli/verify-path.ts) as one esbuild bundle, dist/verify-path.cjs,
// its first line naming its SHA-256, and V8's code cache of it (scripts/build-verify-cache.mjs;
// src/cli/verify-loader.ts says why), rebuilt only when the bundle changed.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

if (process.argv.includes('--clean')) rmSync('dist', { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);
// The declarations name the WebAssembly JS API, which TypeScript declares only in lib.dom;
// ship the subset the sources are checked against, for projects without lib.dom.
mkdirSync('dist/types', { recursive: true });
copyFileSync('src/types/webassembly.d.ts', 'dist/types/webassembly.d.ts');

const { buildSync } = await import('esbuild');
const bundled = buildSync({
  entryPoints: ['src/cli/verify-path.ts'],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  write: false,
  metafile: true,
  logLevel: 'warning',
});
// src/cli/verify-loader.ts runs the bundle without a require (setting one up costs start-up time)
const needs = Object.values(bundled.metafile.outputs).flatMap((o) => o.imports.map((i) => i.path));
if (needs.length > 0) throw new Error(`build: the verify-path bundle imports ${needs.join(', ')}; src/cli/verify-loader.ts gives it no require`);
const code = bundled.outputFiles[0]?.text;
if (code === undefined) throw new Error('build: esbuild wrote no verify-path bundle');
const bundleText = `// xrp-ts verify path (src/cli/verify-path.ts bundled), sha256 ${createHash('sha256').update(code).digest('hex')}\n${code}`;
const bundlePath = 'dist/verify-path.cjs';
const cachePath = 'dist/verify-path.cache';
const unchanged = existsSync(bundlePath) && existsSync(cachePath) && readFileSync(bundlePath, 'utf8') === bundleText;
if (!unchanged) {
  writeFileSync(bundlePath, bundleText);
  const cached = spawnSync(process.execPath, ['scripts/build-verify-cache.mjs'], { stdio: 'inherit' });
  if (cached.status !== 0) process.exit(cached.status ?? 1);
}
