#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's built-in runner (Node 20 has no glob for --test).
// Extra arguments are passed through, so `npm test -- --test-name-pattern=verifier` works.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function collect(dir) {
  const found = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...collect(path));
    else if (name.endsWith('.test.ts')) found.push(path);
  }
  return found;
}

const passThrough = process.argv.slice(2);
const files = passThrough.some((a) => a.endsWith('.ts')) ? [] : collect('test');
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', ...passThrough, ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
