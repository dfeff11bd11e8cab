// `xrp-ts/kv`: BPF-KV, the original XRP's B+-tree store, byte-compatible: build a
// database, boot an emulated machine on it and run lookups and range queries in
// any read mode (read, uring, spdk, xrp). Only re-exports: see src/kv/.

export { buildKvFile, buildKvBytes, type BuildOptions, type BuildSummary } from '../kv/builder.ts';
export { kvGeometry, valueText } from '../kv/format.ts';
export { bootKvMachine, createKvImage, importKvImage, isKvImage, openKvFile, KvDbError, type CreateKvOptions, type CreateKvResult } from '../kv/kv-db.ts';
export { U64_MAX, RNG_BEGIN_EXCLUSIVE, RNG_END_INCLUSIVE, type KeyRange } from '../kv/lookups.ts';
export { KV_MODES, runKvLookups, runKvRanges, type KvMode, type KvLookupOptions, type KvLookupResult, type KvRangeOptions, type KvRangeResult, type KvRunStats } from '../kv/modes.ts';
export { RANGE_AGGS, type RangeAgg, type LookupAnswer, type RangeAnswer } from '../kv/user-ops.ts';
export { KV_GET_OBJECT, KV_RANGE_OBJECT } from '../kv/xrp-ops.ts';
