// The table of top-level commands that `xrp` loads lazily says what the modules
// register: the same names, the same descriptions, nothing missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { COMMANDS, registerAll, registerFor } from '../../src/cli/command-table.ts';

test('every command module registers exactly the table\'s top-level commands and descriptions', async () => {
  const program = new Command('xrp');
  await registerAll(program);
  const registered = program.commands.map((c) => ({ name: c.name(), description: c.description() })).sort((a, b) => a.name.localeCompare(b.name));
  const table = COMMANDS.map((c) => ({ name: c.name, description: c.description })).sort((a, b) => a.name.localeCompare(b.name));
  assert.deepEqual(registered, table);
});

test('only the module of the command being run is loaded; help and unknown commands get the list', async () => {
  const kv = new Command('xrp');
  await registerFor(kv, ['kv', 'get', 'db', '--key', '1']);
  assert.deepEqual(kv.commands.map((c) => c.name()), ['kv']);
  assert.deepEqual(kv.commands[0]!.commands.map((c) => c.name()), ['create', 'get', 'range']);
  const prog = new Command('xrp');
  await registerFor(prog, ['help', 'prog']);
  assert.deepEqual(prog.commands[0]!.commands.map((c) => c.name()).sort(), ['dump', 'run']);
  const top = new Command('xrp');
  await registerFor(top, ['--help']);
  assert.deepEqual(top.commands.map((c) => c.name()), COMMANDS.map((c) => c.name));
});
