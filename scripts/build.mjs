#!/usr/bin/env node
// Builds dist/: the TypeScript sources compiled to JavaScript with declarations
// (tsconfig.build.json). Incremental: a build with nothing changed takes about a second,
// so `npm start` can build first. `--clean` removes dist/ before.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
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
