#!/usr/bin/env node
// Compiles every bpf/**/*.bpf.c to the .bpf.o beside it (checked in, so users
// need no clang) with fixed flags. Paths are made relative (-fdebug-prefix-map)
// so the bytes do not depend on where the checkout lives.
//
//   node scripts/build-bpf.mjs              rebuild the checked-in objects
//   node scripts/build-bpf.mjs --out DIR    write them under DIR instead (same relative paths)
//   node scripts/build-bpf.mjs --list       print the sources, one per line
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const CLANG_FLAGS = [
  '-O2',
  '-g',
  '-target',
  'bpf',
  '-Wall',
  '-Werror',
  `-fdebug-prefix-map=${root}=.`,
  '-I',
  'bpf/include',
  '-I',
  '/usr/include/x86_64-linux-gnu',
];

function collect(dir) {
  const found = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== 'include') found.push(...collect(path));
    } else if (name.endsWith('.bpf.c')) found.push(relative(root, path));
  }
  return found;
}

const args = process.argv.slice(2);
const outIndex = args.indexOf('--out');
const outDir = outIndex >= 0 ? resolve(args[outIndex + 1] ?? '') : root;
const sources = collect(join(root, 'bpf'));
if (args.includes('--list')) {
  for (const source of sources) console.log(source);
  process.exit(0);
}
let failed = 0;
for (const source of sources) {
  const output = join(outDir, source.replace(/\.c$/, '.o'));
  mkdirSync(dirname(output), { recursive: true });
  const result = spawnSync('clang', [...CLANG_FLAGS, '-c', source, '-o', output], { cwd: root, stdio: 'inherit' });
  if (result.error) {
    console.error(`build-bpf: cannot run clang: ${result.error.message}`);
    process.exit(2);
  }
  if (result.status !== 0) failed++;
  else console.log(`${source} -> ${relative(process.cwd(), output) || output}`);
}
if (failed > 0) {
  console.error(`build-bpf: ${failed} of ${sources.length} failed`);
  process.exit(1);
}
