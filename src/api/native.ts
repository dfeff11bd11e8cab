// `xrp-ts/native`: the native engine: storage functions on real files, in worker
// threads, in real time; and BPF-KV on it. Only re-exports: see src/native/.

export { NativeXrpEngine, NativeXrpError, NativeWorkerError, probeDirect, type NativeXrpOptions, type NativeXrpResult, type ReadXrpOptions } from '../native/engine.ts';
export { openKvEngine, nativeKvGet, nativeKvRange, NativeKvError, type NativeKvOptions, type NativeKvAnswer, type NativeRangeOptions, type NativeRangeResult } from '../kv/xrp-client.ts';
