// Loads what `xrp verify` runs (verify-path.ts) as fast as a fresh process can.
//
// A fresh `xrp verify` spent most of its time before the first verified
// instruction: resolving and compiling some twenty ES modules, then compiling
// each verifier function on its first call. The compiled package therefore
// ships the verify path twice: as the ES modules every other entry point uses,
// and as one esbuild bundle (dist/verify-path.cjs) with V8's code cache beside
// it (dist/verify-path.cache): the bytecode V8 compiled for the bundle's
// functions while `npm run build` verified the shipped storage functions
// (scripts/build-verify-cache.mjs). It is a cache of our code, never of
// verification results: every verification runs in full. V8 checks the cache
// against its own version, its flags and the source's length, and (with the
// flag withCacheChecksum sets) against the checksum of its bytes, and rejects
// it when they differ: then it compiles as usual. The file starts with the
// bundle's first line, which names the bundle's SHA-256: a cache built for
// another bundle is never offered. When the cache is missing or
// rejected (another Node version, say), saveCodeCache() writes a new one,
// best effort: a read-only install just stays uncached.
//
// From the TypeScript sources (no dist/) the modules are imported as usual.

import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { Script } from 'node:vm';
import type * as VerifyPathModule from './verify-path.ts';

export type VerifyPath = typeof VerifyPathModule;

/** used: V8 took the cache; rejected: V8 refused it (another V8 or flags, or damaged bytes); missing: none for this bundle; sources: no bundle, the ES modules were imported. */
export type CodeCacheStatus = 'used' | 'rejected' | 'missing' | 'sources';

export interface LoadedVerifyPath {
  api: VerifyPath;
  codeCache: CodeCacheStatus;
  /** Writes the code cache of what has run so far when there was none to use; false when there was no need or it could not be written. */
  saveCodeCache(): boolean;
}

/** Paths of the bundle and its cache for a dist/cli/ module (the bundle sits in dist/). */
export function verifyPathFiles(from: URL = new URL(import.meta.url)): { bundle: string; cache: string } {
  return { bundle: fileURLToPath(new URL('../verify-path.cjs', from)), cache: fileURLToPath(new URL('../verify-path.cache', from)) };
}

/**
 * V8 checks a code cache's checksum only under this flag (release builds skip
 * it), and a damaged cache would run damaged code. It is on only while the
 * cache is made or read (it is part of the flags V8 ties a cache to, so a
 * cache made with it is only ever read with it): left on, it would also make
 * V8 refuse Node's own built-in code cache for every module loaded later.
 */
function withCacheChecksum<T>(run: () => T): T {
  setFlagsFromString('--verify-snapshot-checksum');
  try {
    return run();
  } finally {
    if (!process.execArgv.includes('--verify-snapshot-checksum')) setFlagsFromString('--no-verify-snapshot-checksum');
  }
}

type CommonJsWrapper = (exports: object, require: (id: string) => unknown, module: { exports: object }, filename: string, dirname: string) => void;

/** The verify path: the bundle of dist/ with its code cache, else (from the sources) the ES modules. `files`: another bundle and cache (tests). */
export async function loadVerifyPath(files: { bundle: string; cache: string } = verifyPathFiles()): Promise<LoadedVerifyPath> {
  const { bundle, cache } = files;
  let source: string;
  try {
    source = readFileSync(bundle, 'utf8');
  } catch {
    return { api: await import('./verify-path.ts'), codeCache: 'sources', saveCodeCache: () => false };
  }
  const header = Buffer.from(`${source.slice(0, source.indexOf('\n'))}\n`, 'latin1');
  let cachedData: Buffer | undefined;
  try {
    const file = readFileSync(cache);
    if (file.subarray(0, header.length).equals(header)) cachedData = file.subarray(header.length);
  } catch {
    cachedData = undefined;
  }
  const script = withCacheChecksum(
    () =>
      new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
        filename: bundle,
        ...(cachedData !== undefined ? { cachedData } : {}),
      }),
  );
  const codeCache: CodeCacheStatus = cachedData === undefined ? 'missing' : script.cachedDataRejected === true ? 'rejected' : 'used';
  const module = { exports: {} };
  // The bundle imports no module (scripts/build.mjs refuses to write one that
  // does): importing node:module for a require would load source-map code.
  const noRequire = (id: string): never => {
    throw new Error(`${bundle} requires ${id}: rebuild it (npm run build)`);
  };
  (script.runInThisContext() as CommonJsWrapper)(module.exports, noRequire, module, bundle, dirname(bundle));
  return {
    // The bundle is verify-path.ts compiled by esbuild: the same exports.
    api: module.exports as VerifyPath,
    codeCache,
    saveCodeCache(): boolean {
      if (codeCache === 'used') return false;
      // written beside and renamed, so that a concurrent run reads the old cache or the new one, never half
      const temporary = `${cache}.${process.pid}.tmp`;
      try {
        writeFileSync(temporary, Buffer.concat([header, withCacheChecksum(() => script.createCachedData())]));
        renameSync(temporary, cache);
        return true;
      } catch {
        rmSync(temporary, { force: true });
        return false;
      }
    },
  };
}
