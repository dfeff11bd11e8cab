// A tiny version of every experiment's sweep (a `--set` map that applies to
// every registered experiment): two or so points each (read against xrp), each
// well under a second.

export const TINY_SETS: ReadonlyMap<string, string[]> = new Map([
  ['reads', ['30']],
  ['mode', ['read', 'xrp']],
  ['depth', ['2']],
  ['requests', ['4']],
  ['requestsPerThread', ['3']],
  ['threads', ['2']],
  ['lengthKeys', ['10']],
  ['agg', ['count']],
  ['keysPerRequest', ['4']],
  ['hops', ['10']],
  ['hopBudget', ['20']],
  ['op', ['get']],
  ['keys', ['100']],
  ['queries', ['2']],
  ['limit', ['4']],
  ['fanout', ['4']],
  ['levels', ['2']],
  ['io', ['xrp']],
  ['policy', ['cfs', 'pinned']],
  ['computeThreads', ['1']],
  ['ioThreads', ['2']],
  ['durationMs', ['1']],
  ['workload', ['c']],
  ['records', ['300']],
  ['operations', ['40']],
]);

export const TINY_CONFIG = { seed: 3, device: 'optane-p5800x', cores: 2, full: false } as const;
