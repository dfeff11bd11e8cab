// `xrp-ts`: the package's main entry, everything of the four documented entry
// points (xrp-ts/runtime, xrp-ts/emulator, xrp-ts/kv, xrp-ts/native) in one.

export * from './runtime.ts';
export * from './emulator.ts';
export * from './kv.ts';
export * from './native.ts';
