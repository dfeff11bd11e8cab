// How a worker thread gets its code. Workers do not inherit the main thread's
// TypeScript loader, and registering tsx in each worker then loading ~40
// TypeScript modules costs 1-3 s per worker on a loaded machine. Instead,
// worker.ts and its imports are bundled once into one CommonJS script with
// esbuild (the compiler tsx itself uses), cached on disk and revalidated
// against the sizes and mtimes of its inputs; a worker then boots in a few
// hundred ms. Without esbuild the worker falls back to registering tsx.
// The compiled package (dist/) needs neither: its worker imports worker.js.

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const WORKER_ENTRY = fileURLToPath(new URL('./worker.ts', import.meta.url));
const PROJECT_ROOT = resolve(dirname(WORKER_ENTRY), '..', '..');

interface Manifest {
  /** absolute input path -> [size, mtimeMs] */
  inputs: Record<string, [number, number]>;
}

interface EsbuildLike {
  buildSync(options: object): { outputFiles?: { text: string }[]; metafile?: { inputs: Record<string, unknown> } };
}

let cachedBundle: string | undefined;

/**
 * The worker script for `new Worker(code, { eval: true })`. XRP_NATIVE_BOOT=tsx
 * in the environment forces the slow path (tests use it to cover the fallback).
 */
export function workerBootCode(): string {
  // Compiled JavaScript (dist/): the worker imports worker.js, no loader needed.
  if (import.meta.url.endsWith('.js')) return `import(${JSON.stringify(new URL('./worker.js', import.meta.url).href)});`;
  if (process.env.XRP_NATIVE_BOOT === 'tsx') return tsxBoot();
  cachedBundle ??= bundledWorker() ?? tsxBoot();
  return cachedBundle;
}

/** Registers tsx in the worker, then imports worker.ts (the slow path). */
function tsxBoot(): string {
  const api = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  return `import(${api}).then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./worker.ts', import.meta.url).href)}); });`;
}

function cacheDir(): string {
  const candidates = [join(PROJECT_ROOT, 'node_modules', '.cache', 'xrp-native'), join(tmpdir(), 'xrp-native-cache')];
  for (const dir of candidates) {
    try {
      mkdirSync(dir, { recursive: true });
      return dir;
    } catch {
      // not writable: try the next one
    }
  }
  return tmpdir();
}

function stillValid(manifest: Manifest): boolean {
  for (const [path, [size, mtimeMs]] of Object.entries(manifest.inputs)) {
    try {
      const st = statSync(path);
      if (st.size !== size || st.mtimeMs !== mtimeMs) return false;
    } catch {
      return false;
    }
  }
  return Object.keys(manifest.inputs).length > 0;
}

function bundledWorker(): string | undefined {
  const key = createHash('sha256').update(WORKER_ENTRY).update(process.version).digest('hex').slice(0, 16);
  const dir = cacheDir();
  const codePath = join(dir, `worker-${key}.cjs`);
  const manifestPath = join(dir, `worker-${key}.json`);
  try {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
    if (stillValid(manifest)) return readFileSync(codePath, 'utf8');
  } catch {
    // no cache yet, or a damaged one: rebuild
  }
  let esbuild: EsbuildLike;
  try {
    esbuild = createRequire(import.meta.url)('esbuild') as EsbuildLike;
  } catch {
    return undefined;
  }
  const startedMs = Date.now();
  try {
    const result = esbuild.buildSync({
      entryPoints: [WORKER_ENTRY],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      write: false,
      metafile: true,
      logLevel: 'silent',
      absWorkingDir: PROJECT_ROOT,
    });
    const code = result.outputFiles?.[0]?.text;
    if (code === undefined || result.metafile === undefined) return undefined;
    const inputs: Manifest['inputs'] = {};
    let settled = true;
    for (const input of Object.keys(result.metafile.inputs)) {
      const path = resolve(PROJECT_ROOT, input);
      const st = statSync(path);
      inputs[path] = [st.size, st.mtimeMs];
      // a source edited while it was being bundled: use this bundle once, do not cache it
      if (st.mtimeMs > startedMs - 1000) settled = false;
    }
    if (!settled) return code;
    // write then rename: concurrent processes never read half a file
    const unique = `${process.pid}-${Date.now()}`;
    writeFileSync(`${codePath}.${unique}`, code);
    renameSync(`${codePath}.${unique}`, codePath);
    writeFileSync(`${manifestPath}.${unique}`, JSON.stringify({ inputs } satisfies Manifest));
    renameSync(`${manifestPath}.${unique}`, manifestPath);
    return code;
  } catch {
    return undefined;
  }
}
