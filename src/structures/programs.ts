// The storage functions of the structures: where their checked-in objects are
// and which program of each to load.

import { fileURLToPath } from 'node:url';
import { lookupReadsDefault, XrpLookupBudget } from '../xrp/budget.ts';
import { SL_LEVEL_MAX, SL_NODE_BYTES } from './skiplist-format.ts';

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

/** The read budget of an array-chain query of `hops` hops (src/xrp/budget.ts): one read per hop and the first, twice over. */
export function arrayChainBudget(hops: number, readsMax?: number): XrpLookupBudget {
  return new XrpLookupBudget(readsMax ?? lookupReadsDefault(hops, 1));
}

/**
 * The read budget of a skip-list query (a lookup, or a scan with all its
 * pages) on a file of `fileBytes`: every node once, and a node read again at
 * each level the search drops, twice over.
 */
export function skipListBudget(fileBytes: number, readsMax?: number): XrpLookupBudget {
  return new XrpLookupBudget(readsMax ?? lookupReadsDefault(Math.ceil(fileBytes / SL_NODE_BYTES) + 2 * SL_LEVEL_MAX, 1));
}
