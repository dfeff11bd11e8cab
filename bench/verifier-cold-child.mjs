// One fresh process's verification, for bench/verifier-vs-linux.ts (plain
// JavaScript, run by bare `node` without tsx, so that nothing but Node's own
// start comes before it). Loads the verify path of the compiled package in
// ROOT/dist as `xrp verify` does (node:v8 to turn V8's optimizing compiler
// off, then the code-cached bundle through dist/cli/verify-loader.js; a
// checkout older than the loader: its ES modules), reads the object, verifies
// one program, then WARM more times. Prints one JSON line: nodeStartMs
// (process start to this file's first line), coldMs (from just before our
// first import to the end of the first verify()), loadMs (importing our code),
// elfMs (reading the object and the ELF loader), verifyMs (that verify() call
// alone: the three add up to coldMs), warmMs (best of the repeats), coldCpuMs
// (the main thread's CPU time over coldMs: Linux's schedstat, which leaves out
// waiting for a core on a loaded machine; NaN elsewhere), processed, states,
// codeCache.
//
// At each phase boundary the child calls process.cpuUsage() (a few microseconds),
// where bench/verifier-ir.mjs has callgrind count the phase's instructions.
//
// MODE (default verify) measures the floor beside it, from the same point:
//   bare  the least any verifier in Node must do once Node has started: import
//         one empty module (bench/verifier-floor-empty.mjs) and read the object;
//         no code of ours runs (coldMs only);
//   load  ours without the verification: loading our code, reading the object
//         and the ELF loader (coldMs, loadMs, elfMs).
//   node bench/verifier-cold-child.mjs ROOT OBJECT PROGRAM [WARM] [verify|bare|load]
const nodeStartMs = performance.now();
const { readFileSync } = await import('node:fs');
const { resolve } = await import('node:path');
const { pathToFileURL } = await import('node:url');

const [root, object, program, warmText, mode = 'verify'] = process.argv.slice(2);
if (root === undefined || object === undefined || program === undefined || !['verify', 'bare', 'load'].includes(mode)) {
  throw new Error('usage: verifier-cold-child.mjs ROOT OBJECT PROGRAM [WARM] [verify|bare|load]');
}
const warm = Number(warmText ?? 5);
const objectPath = resolve(root, object);
// resolved before the clock starts: path arithmetic is the bench's, not the verifier's
const emptyModule = new URL('./verifier-floor-empty.mjs', import.meta.url).href;
const modulesUrl = pathToFileURL(resolve(root, 'dist') + '/');
const loaderUrl = new URL('cli/verify-loader.js', modulesUrl).href;

/** Main-thread CPU time in ms, or NaN where /proc does not say. */
function threadCpuMs() {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return Number.NaN;
  }
}

/** A phase boundary for bench/verifier-ir.mjs (callgrind dumps its count on every call). */
const phase = () => process.cpuUsage();

threadCpuMs(); // once before, so that its own first run is not counted
phase(); // ends Node's start (and this child's own set-up)
const c0 = threadCpuMs();
const t0 = performance.now();
if (mode === 'bare') {
  await import(emptyModule);
  readFileSync(objectPath);
  const t1 = performance.now();
  phase();
  const coldCpuMs = threadCpuMs() - c0;
  console.log(JSON.stringify({ mode, nodeStartMs, coldMs: t1 - t0, coldCpuMs }));
} else {
  const { setFlagsFromString } = await import('node:v8');
  setFlagsFromString('--no-opt'); // as src/cli/commands/verify.ts does
  let api;
  let codeCache = 'modules';
  let loaded;
  try {
    loaded = await import(loaderUrl);
  } catch (error) {
    // a checkout older than the loader: its ES modules
    if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.url ?? error.message).includes('verify-loader.js')) throw error;
  }
  if (loaded !== undefined) {
    const path = await loaded.loadVerifyPath();
    api = path.api;
    codeCache = path.codeCache;
  } else {
    const { loadElf } = await import(new URL('bpf/elf/elf.js', modulesUrl).href);
    const { verify } = await import(new URL('bpf/verifier/verifier.js', modulesUrl).href);
    api = { loadElf, verify };
  }
  const tLoaded = performance.now();
  phase();
  const parsed = api.loadElf(new Uint8Array(readFileSync(objectPath)), object);
  const p = parsed.programs.find((q) => q.name === program);
  if (p === undefined) throw new Error(`${object} has no program ${program}`);
  const t1 = performance.now();
  phase();
  if (mode === 'load') {
    const coldCpuMs = threadCpuMs() - c0;
    console.log(JSON.stringify({ mode, nodeStartMs, coldMs: t1 - t0, loadMs: tLoaded - t0, elfMs: t1 - tLoaded, coldCpuMs, codeCache }));
  } else {
    const first = api.verify(p, { type: 'xrp', maps: parsed.maps });
    const t2 = performance.now();
    const coldCpuMs = threadCpuMs() - c0;
    phase();
    if (!first.ok) throw new Error(`${program} rejected: ${first.error.message}`);
    let warmMs = Number.POSITIVE_INFINITY;
    for (let i = 0; i < warm; i++) {
      const s = performance.now();
      api.verify(p, { type: 'xrp', maps: parsed.maps });
      warmMs = Math.min(warmMs, performance.now() - s);
    }
    console.log(JSON.stringify({ mode, nodeStartMs, coldMs: t2 - t0, loadMs: tLoaded - t0, elfMs: t1 - tLoaded, verifyMs: t2 - t1, warmMs, coldCpuMs, processed: first.stats.processedInsns, states: first.stats.states, codeCache }));
  }
}
