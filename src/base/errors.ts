// Typed errors. Every error a user can cause is an XrpError with a stable
// `code` from the one catalogue below and a message that names what was wrong
// and where (file, section, instruction index, offset). Codes are AREA or
// AREA_WHAT in capitals; the native engine's failures of real-file calls use
// the POSIX errno names, as Node's own fs errors do.

export const ERROR_CODES = {
  // eBPF runtime
  ADDRESS_SPACE: 'an access or a mapping outside an address space',
  ASM: 'assembly text that does not parse or encode, with its line',
  CONFORMANCE_DIR: 'a conformance directory that cannot be read',
  CONFORMANCE_FILE: 'a conformance .data file that does not parse, with its line',
  DECODE: 'bytecode that is not a valid instruction, with its index',
  ELF: 'an object file that is not a usable eBPF ELF, with its section and offset',
  FAULT_OUT_OF_BOUNDS: 'a run-time load or store outside every region',
  FAULT_READ_ONLY: 'a run-time store into a read-only region',
  FAULT_MISALIGNED_ATOMIC: 'a run-time atomic operation on a misaligned address',
  FAULT_INSN_LIMIT: 'a run that reached its executed-instruction limit',
  FAULT_UNKNOWN_HELPER: 'a run-time call of a helper that does not exist',
  FAULT_CALL_DEPTH: 'a run deeper than the call-depth limit',
  FAULT_INVALID_INSN: 'a run-time opcode the runtime does not execute',
  FAULT_PC_OUT_OF_RANGE: 'a run that left the program',
  FAULT_UNWIND: 'a helper that stopped the run (conformance tests)',
  HELPER: 'a helper call with bad arguments',
  JIT_COMPILE: 'a program the JIT cannot compile',
  JIT_RUNTIME: 'a fault inside JIT-compiled code',
  LINK: 'relocations or maps of an object that do not link',
  MAP: 'a bad map definition or map operation',
  UNKNOWN_ENGINE: 'an execution engine name that does not exist',
  VERIFIER: 'a program the verifier rejects, with the instruction and register state',
  PRNG: 'a bad PRNG seed, state or bound',
  // the simulated machine
  SIM: 'a bad simulator parameter or use',
  DEVICE: 'a bad device parameter or command',
  FS: 'a bad file system operation',
  FS_CORRUPT: 'an xrpfs image whose metadata is inconsistent',
  XRP_PROG_LOAD: 'a storage function that BPF_PROG_LOAD refused',
  // engines on real files
  NATIVE_WORKER: 'a native engine worker thread that died or could not start',
  NATIVE_NO_PROGRAM: 'a native read_xrp before a storage function was loaded',
  NATIVE_DIRECT: 'O_DIRECT that a file system cannot do',
  NATIVE_CLOSED: 'a closed native engine',
  NATIVE_KV: 'a BPF-KV query through an engine that did not complete',
  EAGAIN: 'too many requests queued (errno name)',
  EBADF: 'a file that cannot be opened or read (errno name)',
  EBUSY: 'an operation while requests are in flight (errno name)',
  EFAULT: 'a buffer too small for a page (errno name)',
  EINVAL: 'an argument out of its range (errno name)',
  ENOENT: 'a file that does not exist (errno name)',
  ESPIPE: 'a path that is not a regular file (errno name)',
  // applications
  KV_DB: 'a BPF-KV database that cannot be made or opened',
  KV_FORMAT: 'BPF-KV bytes that do not follow the format',
  KV_IO: 'a BPF-KV block read that failed',
  KV_LOOKUP: 'a BPF-KV lookup that cannot complete',
  KV_MODE: 'a BPF-KV lookup mode with bad parameters',
  KV_READ: 'a block source read outside its file',
  KV_SCRATCH: 'a BPF-KV scratch page that does not hold a query',
  KV_STRUCTURE: 'a BPF-KV file whose nodes or pointers break the format, with the check, file offset and key',
  STRUCT_PARAM: 'a data structure parameter out of range',
  STRUCT_PROGRAM: 'a data structure storage function that ended abnormally',
  STRUCT_READ: 'a data structure block read that failed',
  STRUCT_CORRUPT: 'data structure bytes that do not follow the format',
  STRUCT_RUN: 'a data structure run with bad parameters',
  KERNEL_ORACLE: 'the Linux kernel oracle could not run a program',
  BENCH: 'a bad benchmark suite parameter',
  WT_PARAM: 'a B+-tree engine parameter out of range',
  WT_CORRUPT: 'a B+-tree page or superblock that fails its checks, with its block and offset',
  WT_IO: 'a B+-tree page read or write that failed',
  WT_KEY: 'a B+-tree key or value too long for a page',
  WT_STATE: 'a B+-tree operation in the wrong state (closed, read-only)',
  YCSB_PROPERTY: 'a YCSB workload property that is missing or out of range, with its file',
  // command line
  USAGE: 'a command line that is wrong: unknown option, bad value, missing argument, flags that do not go together (exit 2)',
  COMMAND: 'a command that ran and failed without a typed error of its own (exit 1)',
  ASM_COMMAND: 'xrp asm: bad input or options',
  FS_CLI: 'xrp fs: bad input or options',
  KV_CLI: 'xrp kv: bad input or options',
  PROG_DUMP: 'xrp prog dump: bad input or options',
  PROG_RUN: 'xrp prog run: bad input or options',
  STACK_CLI: 'xrp stack: bad input or options',
  VERIFY_CLI: 'xrp verify: bad input or options',
  // the program itself
  INTERNAL: 'a broken invariant of xrp-ts itself (a bug to report), naming what was missing and where',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** `code` when it is in the catalogue (a code that crossed a thread boundary as a string), else `fallback`. */
export function errorCode(code: string, fallback: ErrorCode): ErrorCode {
  return Object.hasOwn(ERROR_CODES, code) ? (code as ErrorCode) : fallback;
}

export class XrpError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }

  /** What the code means (the catalogue's entry). */
  get codeDescription(): string {
    return ERROR_CODES[this.code];
  }
}
