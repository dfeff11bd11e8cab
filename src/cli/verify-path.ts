// What `xrp verify` runs, as one module: the ELF loader and the verifier (and
// the error class they throw). scripts/build.mjs bundles it with esbuild into
// dist/verify-path.cjs, which src/cli/verify-loader.ts loads with V8's code
// cache; from the TypeScript sources it is imported as it is.

export { loadElf } from '../bpf/elf/elf.ts';
export { verify } from '../bpf/verifier/verifier.ts';
export { XrpError } from '../base/errors.ts';
