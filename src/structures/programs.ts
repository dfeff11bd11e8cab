// The storage functions of the structures: where their checked-in objects are
// and which program of each to load.

import { fileURLToPath } from 'node:url';

export interface StorageFunction {
  /** the .bpf.o on the host */
  readonly objectPath: string;
  /** the program (function) name in section "xrp" */
  readonly program: string;
}

const objectPath = (name: string): string => fileURLToPath(new URL(`../../bpf/structures/${name}`, import.meta.url));

export const ARRAY_CHAIN_FN: StorageFunction = { objectPath: objectPath('array_chain.bpf.o'), program: 'array_chain' };
export const SKIPLIST_GET_FN: StorageFunction = { objectPath: objectPath('skiplist.bpf.o'), program: 'sl_get' };
export const SKIPLIST_RANGE_FN: StorageFunction = { objectPath: objectPath('skiplist.bpf.o'), program: 'sl_range' };
