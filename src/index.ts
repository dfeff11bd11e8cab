// `xrp-ts`: the package's main entry, everything of the four documented entry
// points (xrp-ts/runtime, xrp-ts/emulator, xrp-ts/kv, xrp-ts/native) in one.

export * from './api/runtime.ts';
export * from './api/emulator.ts';
export * from './api/kv.ts';
export * from './api/native.ts';
