// The read budget of one BPF-KV request (src/xrp/budget.ts XrpLookupBudget),
// the same default in every engine's client: the emulated xrp mode
// (xrp-ops.ts) and the XrpEngine client (xrp-client.ts, native or emulated).

import { lookupReadsDefault, XrpLookupBudget } from '../xrp/budget.ts';
import { kvGeometry } from './format.ts';

/** A scatter-gather request of `keys` keys in a file of `layers` layers: the descent and the value of each key, twice over. */
export function kvGetBudget(layers: number, keys: number, readsMax?: number): XrpLookupBudget {
  return new XrpLookupBudget(readsMax ?? lookupReadsDefault(layers, keys));
}

/** A range query: every node and every value of the file once, twice over. */
export function kvRangeBudget(layers: number, readsMax?: number): XrpLookupBudget {
  const g = kvGeometry(layers);
  return new XrpLookupBudget(readsMax ?? 2 * (g.totalNodes + g.keyCount) + 16);
}

/** The explanation of a request cut by its budget, as every engine gives it. */
export function kvLimitDetail(what: string, budget: XrpLookupBudget): string {
  return `LIMIT: ${what}: ${budget.limitDetail()}`;
}
