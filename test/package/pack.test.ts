// The package as a user gets it: `npm pack` (which builds dist/ through the prepare
// script), the tarball installed into an empty project, then used by name: the eBPF
// runtime verifies and runs a program, a BPF-KV lookup runs its storage function on
// the emulated machine and on the native engine, and the `xrp` binary runs from
// compiled JavaScript. Also: what the tarball holds (dist, storage functions, docs;
// no tests, no TypeScript sources).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' } });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} in ${cwd} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const USE = `
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { assemble, loadProgram, loadElf, verify, AddressSpace, createExecEnv } from 'xrp-ts/runtime';
import { createKvImage, runKvLookups, buildKvFile, KV_GET_OBJECT } from 'xrp-ts/kv';
import { nativeKvGet } from 'xrp-ts/native';
import { Machine, XrpStatus } from 'xrp-ts/emulator';
import * as all from 'xrp-ts';

// the runtime: verify and run a program on the JIT
const insns = assemble('mov r0, 6\\nmul r0, 7\\nexit');
const loaded = loadProgram({ name: 'answer', insns }, { type: 'mem', memSizeBytes: 16 });
const memory = new AddressSpace(1 << 16);
const region = memory.map('mem', 16);
const result = loaded.engine.run(createExecEnv(memory, new Map(), 1000), [BigInt(region.base), 16n]);
assert.equal(result.r0, 42n);
assert.equal(loaded.engineName, 'jit');

// the shipped storage function, verified from the installed package
const require = createRequire(import.meta.url);
const pkgDir = join(require.resolve('xrp-ts/package.json'), '..');
assert.equal(KV_GET_OBJECT, join(pkgDir, 'bpf/kv/get.bpf.o'));
const object = loadElf(readFileSync(KV_GET_OBJECT), 'get.bpf.o');
const kvGet = object.programs.find((p) => p.name === 'kv_get');
assert.ok(kvGet);
assert.equal(verify(kvGet, { type: 'xrp', maps: object.maps }).ok, true);

// one emulated lookup: read_xrp runs kv_get in virtual time
const dir = mkdtempSync(join(tmpdir(), 'xrp-ts-use-'));
const image = join(dir, 'kv.img');
await createKvImage(image, { layers: 2 });
const emulated = runKvLookups({ db: image, mode: 'xrp', requests: 1, keys: [123n] });
assert.equal(emulated.answers[0].found, true);
assert.equal(emulated.xrpCalls, 1);

// one native lookup: kv_get on the real file, in a worker thread
const raw = join(dir, 'kv.raw');
await buildKvFile(raw, { layers: 2 });
const native = await nativeKvGet(raw, [123n]);
assert.equal(native.answers[0].found, true);
assert.deepEqual(native.answers[0].value, emulated.answers[0].value);

assert.equal(typeof all.Machine, 'function');
assert.equal(typeof Machine.boot, 'function');
assert.equal(typeof XrpStatus, 'object');
console.log('used by name: ok');
`;

const USE_TS = `
import { loadElf, verify, type VerifierResult } from 'xrp-ts/runtime';
import { runKvLookups, type KvLookupResult } from 'xrp-ts/kv';
import { NativeXrpEngine } from 'xrp-ts/native';
import { Machine } from 'xrp-ts/emulator';
export function check(bytes: Uint8Array): boolean {
  const object = loadElf(bytes, 'x.o');
  const p = object.programs[0];
  if (p === undefined) return false;
  const r: VerifierResult = verify(p, { type: 'xrp', maps: object.maps });
  return r.ok;
}
export const lookups: (db: string) => KvLookupResult = (db) => runKvLookups({ db, mode: 'xrp', requests: 1 });
export const open = NativeXrpEngine.open;
export const boot = Machine.boot;
`;

test('npm pack: the tarball installs into an empty project and works by name (API and xrp binary)', { timeout: 300_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'xrp-ts-pack-'));
  try {
    const packed = JSON.parse(run(npm, ['pack', '--json', '--pack-destination', work], root)) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const entry = packed[0];
    assert.ok(entry);
    const paths = entry.files.map((f) => f.path);
    for (const want of ['dist/api/index.js', 'dist/api/index.d.ts', 'dist/cli/main.js', 'dist/native/worker.js', 'dist/bench/worker.js', 'dist/verify-path.cjs', 'dist/verify-path.cache', 'bin/xrp.js', 'bpf/kv/get.bpf.o', 'bpf/kv/get.bpf.c', 'bpf/include/xrp.h', 'LICENSE', 'README.md', 'docs/cli.md']) {
      assert.ok(paths.includes(want), `the tarball lacks ${want}`);
    }
    const unwanted = paths.filter((p) => p.startsWith('test/') || p.startsWith('src/') || p.endsWith('.test.ts') || p.endsWith('.test.js'));
    assert.deepEqual(unwanted, [], 'the tarball ships tests or TypeScript sources');

    const project = join(work, 'project');
    run('mkdir', ['-p', project], work);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'uses-xrp-ts', private: true, type: 'module' }));
    run(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, entry.filename)], project);
    writeFileSync(join(project, 'use.mjs'), USE);
    assert.match(run(process.execPath, ['use.mjs'], project), /used by name: ok/);

    // TypeScript finds the declarations by name, through `exports` (skipLibCheck: the consumer's own code is checked)
    writeFileSync(join(project, 'use.ts'), USE_TS);
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    run(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--lib', 'es2022,dom', '--typeRoots', join(root, 'node_modules/@types'), '--types', 'node', 'use.ts'], project);

    const installed = readdirSync(join(project, 'node_modules'));
    assert.ok(!installed.includes('tsx') && !installed.includes('esbuild'), 'tsx or esbuild installed as a run-time dependency');
    const version = run(process.execPath, [join(project, 'node_modules/.bin/xrp'), '--version'], project).trim();
    assert.match(version, /^\d+\.\d+\.\d+/);
    const verified = run(process.execPath, [join(project, 'node_modules/.bin/xrp'), 'verify', 'node_modules/xrp-ts/bpf/kv/range.bpf.o'], project);
    assert.match(verified, /kv_range .*accepted/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
