#!/usr/bin/env node
// Writes dist/verify-path.cache, V8's code cache of the bundled verify path
// (src/cli/verify-loader.ts says what it is and how it is checked): loads the
// bundle with V8's optimizing compiler off, as `xrp verify` does, verifies the
// shipped storage functions so that the functions they use are compiled, and
// saves the bytecode. Run by scripts/build.mjs after the bundle is written.
import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--no-opt'); // as src/cli/commands/verify.ts does: V8 ties the cache to its flags
const { loadVerifyPath, verifyPathFiles } = await import('../dist/cli/verify-loader.js');
rmSync(verifyPathFiles(new URL('../dist/cli/', import.meta.url)).cache, { force: true });
const loaded = await loadVerifyPath();
if (loaded.codeCache !== 'missing') throw new Error(`build-verify-cache: expected no cache, found "${loaded.codeCache}"`);

function objects(dir) {
  const found = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...(name === 'tests' ? [] : objects(path)));
    else if (name.endsWith('.bpf.o')) found.push(path);
  }
  return found;
}
for (const file of objects('bpf')) {
  const object = loaded.api.loadElf(new Uint8Array(readFileSync(file)), file);
  for (const program of object.programs) loaded.api.verify(program, { type: 'xrp', maps: object.maps });
}
if (!loaded.saveCodeCache()) throw new Error('build-verify-cache: could not write the code cache');
