// The layers of src/ and which may import which, checked over the import graph.
// A folder of src/ is a layer; it may import only the layers of its row (and
// itself). A new folder needs a row here: the test names it.
//
//   base        errors with their catalogue, the PRNG, block sources: no imports
//   bpf         the eBPF runtime (isa, elf/, asm/, verifier/, interpreter, jit/)
//   xrp         the XRP contract: struct bpf_xrp, statuses, limits, step, engine interface
//   sim         the discrete-event simulator
//   device      the emulated NVMe device
//   kernel      the emulated kernel (syscalls, fs, block layer, NVMe driver, XRP hook)
//   spdk        the SPDK-like user-space driver
//   native      the native engine: storage functions on real files
//   kv, structures  applications over the engines
//   testing     generators and oracles for tests and fuzzing: never imported by src/
//   bench, cli  the benchmark suite and the command line
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filesUnder, importsOf } from './imports.ts';

const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  types: [],
  base: [],
  bpf: ['base'],
  xrp: ['base', 'bpf'],
  sim: ['base'],
  device: ['base', 'sim'],
  kernel: ['base', 'bpf', 'xrp', 'sim', 'device'],
  spdk: ['base', 'sim', 'device', 'kernel'],
  native: ['base', 'bpf', 'xrp'],
  kv: ['base', 'bpf', 'xrp', 'sim', 'device', 'kernel', 'spdk', 'native'],
  structures: ['base', 'bpf', 'xrp', 'sim', 'device', 'kernel'],
  wt: ['base', 'bpf', 'xrp', 'sim', 'device', 'kernel'],
  ycsb: ['base', 'sim', 'device', 'kernel', 'wt'],
  testing: ['base', 'bpf', 'xrp'],
  bench: ['base', 'bpf', 'xrp', 'sim', 'device', 'kernel', 'spdk', 'native', 'kv', 'structures', 'wt', 'ycsb'],
  cli: ['base', 'bpf', 'xrp', 'sim', 'device', 'kernel', 'spdk', 'native', 'kv', 'structures', 'wt', 'ycsb', 'bench'],
  api: ['base', 'bpf', 'xrp', 'sim', 'device', 'kernel', 'spdk', 'native', 'kv', 'structures', 'wt', 'ycsb', 'bench', 'types'],
};

/** Files that must not import a given file even inside the allowed layers. */
const BANNED: ReadonlyArray<{ from: string; to: string; why: string }> = [
  { from: 'src/native/', to: 'src/kernel/', why: 'the real-file engine takes statuses and limits from the XRP contract (src/xrp), not from the emulated kernel' },
];

function layerOf(path: string): string | null {
  const parts = path.split('/');
  return parts[0] === 'src' && parts.length > 2 ? (parts[1] ?? null) : null;
}

const SOURCES = filesUnder('src', ['.ts']);

test('every folder of src/ is a layer with a row in the table', () => {
  const layers = new Set(SOURCES.map(layerOf).filter((l): l is string => l !== null));
  for (const layer of layers) assert.ok(layer in MAY_IMPORT, `src/${layer}/ has no row in MAY_IMPORT (test/architecture/layers.test.ts): say which layers it may import`);
  for (const file of SOURCES) assert.notEqual(layerOf(file), null, `${file}: every source file lives in a layer folder`);
});

test('each layer imports only the layers below it', () => {
  const violations: string[] = [];
  for (const file of SOURCES) {
    const from = layerOf(file);
    if (from === null) continue;
    for (const edge of importsOf(file)) {
      const to = layerOf(edge.to);
      if (to === null) {
        if (edge.to.startsWith('src/') || !edge.to.startsWith('bpf/')) violations.push(`${file}:${edge.line} imports ${edge.to}, outside the layers`);
        continue;
      }
      if (to === from) continue;
      if (!(MAY_IMPORT[from] ?? []).includes(to)) violations.push(`${file}:${edge.line} (${from}) imports ${edge.to} (${to})`);
    }
  }
  assert.deepEqual(violations, [], `imports across layers that the table does not allow:\n${violations.join('\n')}`);
});

test('no source file imports a banned file, and nothing in src/ but src/testing imports src/testing', () => {
  const violations: string[] = [];
  for (const file of SOURCES) {
    for (const edge of importsOf(file)) {
      for (const b of BANNED) {
        if (file.startsWith(b.from) && edge.to.startsWith(b.to)) violations.push(`${file}:${edge.line} imports ${edge.to}: ${b.why}`);
      }
      if (edge.to.startsWith('src/testing/') && !file.startsWith('src/testing/')) violations.push(`${file}:${edge.line} imports test-only code ${edge.to}`);
    }
  }
  assert.deepEqual(violations, [], violations.join('\n'));
});

test('the import reader sees static, type-only, re-export and dynamic imports', () => {
  const edges = importsOf('src/kernel/xrp/index.ts').map((e) => e.to);
  assert.ok(edges.includes('src/kernel/xrp/config.ts'), 'export ... from');
  assert.ok(edges.includes('src/xrp/status.ts'), 'a re-export from another layer');
  const typeOnly = importsOf('src/kernel/kernel.ts').map((e) => e.to);
  assert.ok(typeOnly.includes('src/kernel/xrp/config.ts'), 'import type');
  assert.ok(SOURCES.length > 100, `${SOURCES.length} source files`);
});
