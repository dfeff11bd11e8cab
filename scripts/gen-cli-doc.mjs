#!/usr/bin/env node
// Writes the generated part of docs/cli.md: the help of every `xrp` command, as the
// compiled CLI prints it (run `npm run build` first). The text above the marker line
// is kept as written. Run: npm run docs:cli
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const MARKER = '<!-- generated below by scripts/gen-cli-doc.mjs: do not edit by hand -->';

function help(path) {
  const r = spawnSync(process.execPath, ['bin/xrp.js', ...path, '--help'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`xrp ${path.join(' ')} --help exited ${r.status}: ${r.stderr}`);
  return r.stdout.trimEnd();
}

/** Subcommand names from the "Commands:" section of a help text (not `help`). */
function subcommands(text) {
  const at = text.indexOf('\nCommands:\n');
  if (at < 0) return [];
  return text
    .slice(at + 11)
    .split('\n')
    .map((line) => /^ {2}([a-z][\w-]*)/.exec(line)?.[1])
    .filter((name) => name !== undefined && name !== 'help');
}

const sections = [];
function walk(path) {
  const text = help(path);
  sections.push(`### xrp ${path.join(' ')}`.trimEnd() + '\n\n```text\n' + text + '\n```\n');
  for (const name of subcommands(text)) walk([...path, name]);
}
walk([]);

const doc = readFileSync('docs/cli.md', 'utf8');
const head = doc.includes(MARKER) ? doc.slice(0, doc.indexOf(MARKER)) : `${doc.trimEnd()}\n\n`;
writeFileSync('docs/cli.md', `${head}${MARKER}\n\n${sections.join('\n')}`);
console.log(`docs/cli.md: ${sections.length} commands`);
