// `--prog FILE.o [--section S]`: a storage function of one's own, picked from an
// ELF object: the program whose section or function name is S, or else the only
// program in section "xrp" (or the only program at all).

import { readFileSync, statSync } from 'node:fs';
import { loadElf } from '../bpf/elf/elf.ts';
import { CommandError, UsageError } from './errors.ts';

export interface StorageFunctionRef {
  objectPath: string;
  programName: string;
  sectionName: string;
}

export function resolveStorageFunction(objectPath: string, section?: string): StorageFunctionRef {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(objectPath));
  } catch (error) {
    throw new CommandError(`cannot read ${objectPath}: ${(error as Error).message}`);
  }
  const object = loadElf(bytes, objectPath);
  const listed = (): string => object.programs.map((p) => `${p.name} (section ${p.sectionName})`).join(', ') || 'none';
  const candidates =
    section !== undefined
      ? object.programs.filter((p) => p.sectionName === section || p.name === section)
      : object.programs.filter((p) => p.sectionName === 'xrp').length > 0
        ? object.programs.filter((p) => p.sectionName === 'xrp')
        : object.programs;
  const [chosen, ...others] = candidates;
  if (chosen === undefined) {
    throw new UsageError(section !== undefined ? `${objectPath}: no program in section or named "${section}"; programs: ${listed()}` : `${objectPath} holds no program`);
  }
  if (others.length > 0) throw new UsageError(`${objectPath} holds ${candidates.length} candidate programs (${listed()}): choose one with --section`);
  return { objectPath, programName: chosen.name, sectionName: chosen.sectionName };
}

/** A DB or data file given on the command line must not be a directory (a missing file is left to the reader's own error). */
export function checkNotDirectory(path: string, what: string): void {
  let isDirectory = false;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {
    return;
  }
  if (isDirectory) throw new UsageError(`${what} '${path}' is a directory; give a file`);
}
