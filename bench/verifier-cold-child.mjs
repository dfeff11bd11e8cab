// One fresh process's verification, for bench/verifier-vs-linux.ts (plain
// JavaScript, run by bare `node` without tsx, so that nothing but Node's own
// start comes before it). Loads the verify path of the compiled package in
// ROOT/dist as `xrp verify` does (V8's optimizing compiler off, then the
// code-cached bundle through dist/cli/verify-loader.js; a checkout older than
// the loader: its ES modules), verifies one program, then WARM more times.
// Prints one JSON line: nodeStartMs (process start to this file's first line),
// coldMs (from just before our first import to the end of the first verify()),
// loadMs (importing our code), elfMs (the ELF loader), verifyMs (that
// verify() call alone: the three add up to coldMs), warmMs (best of the repeats),
// coldCpuMs (the main thread's CPU time over coldMs: Linux's schedstat, which
// leaves out waiting for a core on a loaded machine; NaN elsewhere), processed,
// states, codeCache.
//   node bench/verifier-cold-child.mjs ROOT OBJECT PROGRAM [WARM]
const nodeStartMs = performance.now();
const { setFlagsFromString } = await import('node:v8');
const { existsSync, readFileSync } = await import('node:fs');
const { join } = await import('node:path');
const { pathToFileURL } = await import('node:url');

const [root, object, program, warmText] = process.argv.slice(2);
if (root === undefined || object === undefined || program === undefined) throw new Error('usage: verifier-cold-child.mjs ROOT OBJECT PROGRAM [WARM]');
const warm = Number(warmText ?? 5);
const bytes = new Uint8Array(readFileSync(join(root, object)));
const loaderFile = join(root, 'dist/cli/verify-loader.js');

/** Main-thread CPU time in ms, or NaN where /proc does not say. */
function threadCpuMs() {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return Number.NaN;
  }
}

threadCpuMs(); // once before, so that its own first run is not counted
const c0 = threadCpuMs();
const t0 = performance.now();
setFlagsFromString('--no-opt'); // as src/cli/commands/verify.ts does
let api;
let codeCache = 'modules';
if (existsSync(loaderFile)) {
  const loaded = await (await import(pathToFileURL(loaderFile).href)).loadVerifyPath();
  api = loaded.api;
  codeCache = loaded.codeCache;
} else {
  const { loadElf } = await import(pathToFileURL(join(root, 'dist/bpf/elf/elf.js')).href);
  const { verify } = await import(pathToFileURL(join(root, 'dist/bpf/verifier/verifier.js')).href);
  api = { loadElf, verify };
}
const tLoaded = performance.now();
const parsed = api.loadElf(bytes, object);
const p = parsed.programs.find((q) => q.name === program);
if (p === undefined) throw new Error(`${object} has no program ${program}`);
const t1 = performance.now();
const first = api.verify(p, { type: 'xrp', maps: parsed.maps });
const t2 = performance.now();
const coldCpuMs = threadCpuMs() - c0;
if (!first.ok) throw new Error(`${program} rejected: ${first.error.message}`);
let warmMs = Number.POSITIVE_INFINITY;
for (let i = 0; i < warm; i++) {
  const s = performance.now();
  api.verify(p, { type: 'xrp', maps: parsed.maps });
  warmMs = Math.min(warmMs, performance.now() - s);
}
console.log(JSON.stringify({ nodeStartMs, coldMs: t2 - t0, loadMs: tLoaded - t0, elfMs: t1 - tLoaded, verifyMs: t2 - t1, warmMs, coldCpuMs, processed: first.stats.processedInsns, states: first.stats.states, codeCache }));
