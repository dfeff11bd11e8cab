// `xrp-ts/runtime`: the eBPF runtime. Load an ELF object, verify a program, run it
// on the reference interpreter or the JIT to WebAssembly, assemble and disassemble.
// Only re-exports: the definitions live in src/bpf/.

export { XrpError } from '../base/errors.ts';
export { decode, encode, type Insn, type Program } from '../bpf/isa.ts';
export { assemble, assembleProgram, AsmError, type AssembleOptions } from '../bpf/asm/asm.ts';
export { disassemble, disassembleInsn } from '../bpf/asm/disasm.ts';
export { loadElf, findProgram, ElfError, type BpfObject, type ObjectProgram, type MapSpec } from '../bpf/elf/elf.ts';
export { linkProgram, LinkError, type LinkedProgram } from '../bpf/elf/link.ts';
export { AddressSpace, type Region } from '../bpf/memory.ts';
export { createStdHelpers, type StdHelpers } from '../bpf/std-helpers.ts';
export type { Helper, HelperTable } from '../bpf/helpers.ts';
export { createExecEnv, ExecutionFault, INSN_LIMIT_DEFAULT, type Engine, type ExecEnv, type RunResult } from '../bpf/engine.ts';
export { verify, type VerifyOptions, type VerifierResult, type VerifierStats } from '../bpf/verifier/verifier.ts';
export { createInterpreter, Interpreter, type InterpreterOptions } from '../bpf/interp/interp.ts';
export { compileJit, JitProgram, JitRuntimeError } from '../bpf/jit/index.ts';
export { loadProgram, type EngineName, type LoadedProgram, type LoadOptions } from '../bpf/load.ts';
