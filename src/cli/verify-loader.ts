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
// against its own version, its flags and the source's length and rejects it
// when they differ (then it compiles as usual). It does not check the bytes
// themselves (release builds of V8 skip the code cache's checksum), and a
// damaged cache would run damaged code, so the file carries its own: it starts
// with the bundle's first line (which names the bundle's SHA-256: a cache
// built for another bundle is never offered), then a 64-bit checksum of the
// cached data, checked before V8 sees it (computed here in JavaScript:
// node:crypto's first use cost more than the whole check, 10-50 ms). When the cache is missing or
// rejected (another Node version, say), saveCodeCache() writes a new one,
// best effort: a read-only install just stays uncached.
//
// From the TypeScript sources (no dist/) the modules are imported as usual.

import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import type * as VerifyPathModule from './verify-path.ts';

export type VerifyPath = typeof VerifyPathModule;

/** used: V8 took the cache; rejected: its checksum or V8 refused it; missing: none for this bundle; sources: no bundle, the ES modules were imported. */
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

/** The cache file's second line: the checksum of the cached data, 16 hex digits. */
const DIGEST_LINE_BYTES = 17;

/**
 * Two 32-bit lanes over the data's 32-bit words (FNV-1a's step, and a
 * multiply-rotate one) and its last bytes: any damage V8 would not notice
 * (it checks the length, not the bytes) changes it but for 1 in 2^64 by chance.
 * `data` must start at a 4-byte-aligned offset.
 */
function digestLine(data: Uint8Array): string {
  const wordCount = data.length >>> 2;
  const words = new Int32Array(data.buffer, data.byteOffset, wordCount);
  let a = 0x811c9dc5 | 0;
  let b = data.length | 0;
  for (let i = 0; i < wordCount; i++) {
    const w = words[i] ?? 0;
    a = Math.imul(a ^ w, 0x01000193);
    b = Math.imul(b + w, 0x5bd1e995);
    b ^= b >>> 15;
  }
  for (let i = wordCount * 4; i < data.length; i++) a = Math.imul(a ^ (data[i] ?? 0), 0x01000193);
  return `${(a >>> 0).toString(16).padStart(8, '0')}${(b >>> 0).toString(16).padStart(8, '0')}\n`;
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
  let damaged = false;
  try {
    const file = readFileSync(cache);
    if (file.subarray(0, header.length).equals(header)) {
      // copied: the checksum reads it as 32-bit words, which must be aligned
      const data = Buffer.from(new Uint8Array(file.subarray(header.length + DIGEST_LINE_BYTES)).buffer);
      damaged = file.toString('latin1', header.length, header.length + DIGEST_LINE_BYTES) !== digestLine(data);
      if (!damaged) cachedData = data;
    }
  } catch {
    cachedData = undefined;
  }
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: bundle,
    ...(cachedData !== undefined ? { cachedData } : {}),
  });
  const codeCache: CodeCacheStatus = damaged ? 'rejected' : cachedData === undefined ? 'missing' : script.cachedDataRejected === true ? 'rejected' : 'used';
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
        const data = new Uint8Array(script.createCachedData()); // copied, as above: aligned
        writeFileSync(temporary, Buffer.concat([header, Buffer.from(digestLine(data), 'latin1'), data]));
        renameSync(temporary, cache);
        return true;
      } catch {
        rmSync(temporary, { force: true });
        return false;
      }
    },
  };
}
