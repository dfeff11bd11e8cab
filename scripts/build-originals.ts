// Builds the original authors' BPF-KV storage functions (xrp-bpf/get.c and
// xrp-bpf/range.c of github.com/xrp-project/BPF-KV, Apache-2.0) from a checkout
// of theirs, UNMODIFIED, into a scratch folder. Their code is never copied into
// this repository: it is read from the checkout and compiled there.
//
// Their xrp-bpf/Makefile compiles with clang -target bpf to LLVM IR, then llc,
// against a patched kernel's UAPI linux/bpf.h that declares struct bpf_xrp.
// This does the same with the same flags; the patched header is replaced by
// bpf/compat/original/ (the host's UAPI plus struct bpf_xrp of bpf/include/xrp.h).
//
//   node --import tsx scripts/build-originals.ts --bpfkv DIR [--out DIR]
//   BPFKV_DIR=DIR npm run build:originals
// Prints the two objects and what the checkout is (commit, clean or not).
// Also builds their command-line tool, simplekv (`create` and the user-space
// get and range), against bpf/compat/original-user/ (libbpf 0.x's load call).

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The commit the checked facts refer to (HEAD of the snapshot read when this was written). */
export const BPFKV_COMMIT = 'd4ea37c2266586b3ebfdd9351d501f27477ae2bc';
export const BPFKV_URL = 'https://github.com/xrp-project/BPF-KV';

/** Their files the build reads, relative to the checkout. */
const SOURCES = ['xrp-bpf/get.c', 'xrp-bpf/range.c', 'xrp-bpf/simplekvspec.h', 'db_types.h'] as const;
/** Ours: the stand-in for the patched kernel's headers. */
const SHIM_DIR = join(root, 'bpf/compat/original');
const SHIM_FILES = ['bpf/compat/original/linux/bpf.h', 'bpf/compat/original/bpf/bpf_helpers.h', 'bpf/include/xrp.h'];

/** Their command-line tool (the top-level Makefile's simplekv), for `create` and its user-space get and range. */
const TOOL_SOURCES = ['simplekv.c', 'helpers.c', 'range.c', 'parse.c', 'create.c', 'get.c'] as const;
const TOOL_HEADERS = ['simplekv.h', 'helpers.h', 'range.h', 'parse.h', 'create.h', 'get.h', 'db_types.h'] as const;
const TOOL_SHIM_DIR = join(root, 'bpf/compat/original-user');
const TOOL_SHIM_FILES = ['bpf/compat/original-user/bpf/bpf.h', 'bpf/compat/original-user/bpf/libbpf.h', 'bpf/compat/original-user/no-xrp.c'];
/** The top-level Makefile's CFLAGS and LDLIBS (without -lbpf: see bpf/compat/original-user/bpf/bpf.h). */
const THEIR_CC_FLAGS = ['-Wall', '-D_GNU_SOURCE', '-Wunused'];
const THEIR_LDLIBS = ['-pthread', '-lm'];

/** xrp-bpf/Makefile's flags for clang (BPF_CFLAGS replaced by our include directories). */
const THEIR_CLANG_FLAGS = ['-S', '-target', 'bpf', '-D', '__BPF_TRACING__'];
const THEIR_WARNING_FLAGS = ['-Wall', '-Wno-unused-value', '-Wno-pointer-sign', '-Wno-compare-distinct-pointer-types', '-Werror', '-O2', '-emit-llvm', '-c', '-g'];
const OUR_INCLUDES = ['-I', SHIM_DIR, '-I', join(root, 'bpf/include'), '-I', '/usr/include/x86_64-linux-gnu'];

export class OriginalsError extends Error {
  override readonly name = 'OriginalsError';
}

/** One of their programs as our loaders name it. */
export interface OriginalProgram {
  /** get.c or range.c */
  source: string;
  objectPath: string;
  /** the function (what `--section` and the ELF loader's program list name) */
  programName: string;
  sectionName: string;
}

export interface OriginalsCheckout {
  dir: string;
  /** HEAD of the checkout, when it is a git work tree */
  commit?: string;
  /** true when git reports no change to the files the builds read; undefined without git */
  clean?: boolean;
}

export interface OriginalsBuild {
  checkout: OriginalsCheckout;
  outDir: string;
  get: OriginalProgram;
  range: OriginalProgram;
}

/** The checkout named by `--bpfkv DIR` in `argv`, else by env BPFKV_DIR; undefined when neither is given. */
export function bpfkvDirOf(argv: readonly string[] = process.argv, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const i = argv.indexOf('--bpfkv');
  if (i >= 0) {
    const dir = argv[i + 1];
    if (dir === undefined || dir.startsWith('--')) throw new OriginalsError('--bpfkv needs a directory: a checkout of github.com/xrp-project/BPF-KV');
    return resolve(dir);
  }
  const fromEnv = env['BPFKV_DIR'];
  return fromEnv === undefined || fromEnv === '' ? undefined : resolve(fromEnv);
}

function run(cmd: string, args: string[], cwd?: string): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...(cwd !== undefined ? { cwd } : {}) });
  return { ok: r.error === undefined && r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error?.message ?? ''}`.trim() };
}

/** Checks that `dir` holds the files the build reads and says which commit it is. */
export function inspectCheckout(dir: string): OriginalsCheckout {
  for (const file of SOURCES) {
    if (!existsSync(join(dir, file))) throw new OriginalsError(`${dir} is not a BPF-KV checkout: ${file} is missing (clone ${BPFKV_URL})`);
  }
  const checkout: OriginalsCheckout = { dir };
  // only the checkout's own repository (not one it happens to sit inside)
  const top = run('git', ['-C', dir, 'rev-parse', '--show-toplevel']);
  const head = run('git', ['-C', dir, 'rev-parse', 'HEAD']);
  if (top.ok && realpathSync(top.out) === realpathSync(dir) && head.ok) {
    checkout.commit = head.out;
    const status = run('git', ['-C', dir, 'status', '--porcelain', '--', ...SOURCES, ...TOOL_SOURCES, ...TOOL_HEADERS]);
    if (status.ok) checkout.clean = status.out === '';
  }
  return checkout;
}

/** Why the originals cannot be built here (no checkout given, files missing, no clang or llc), or null. */
export function originalsUnavailable(dir: string | undefined = bpfkvDirOf()): string | null {
  if (dir === undefined) return `no BPF-KV checkout: set BPFKV_DIR (or pass --bpfkv DIR) to a clone of ${BPFKV_URL} (.ci/run clones it at ${BPFKV_COMMIT.slice(0, 7)} when the network allows)`;
  try {
    inspectCheckout(dir);
  } catch (error) {
    return (error as Error).message;
  }
  for (const tool of [clangCommand(), llcCommand()]) {
    if (!run(tool, ['--version']).ok) return `${tool} is not installed (needed to compile their programs as their Makefile does)`;
  }
  return null;
}

const clangCommand = (): string => process.env['CLANG'] ?? 'clang';
const llcCommand = (): string => process.env['LLC'] ?? 'llc';

/** A folder named by everything the objects depend on: their sources, our shim, the flags, the compilers' versions; so a rebuild is needed only when one changes. */
function scratchDirFor(dir: string): string {
  const hash = createHash('sha256');
  for (const file of SOURCES) hash.update(readFileSync(join(dir, file)));
  for (const file of SHIM_FILES) hash.update(readFileSync(join(root, file)));
  const versions = [clangCommand(), llcCommand()].map((tool) => run(tool, ['--version']).out);
  hash.update(JSON.stringify([THEIR_CLANG_FLAGS, THEIR_WARNING_FLAGS, OUR_INCLUDES, clangCommand(), llcCommand(), versions]));
  return join(tmpdir(), 'xrp-ts-originals', hash.digest('hex').slice(0, 16));
}

function compile(checkoutDir: string, name: 'get' | 'range', outDir: string): string {
  const source = join(checkoutDir, 'xrp-bpf', `${name}.c`);
  const object = join(outDir, `${name}.o`);
  if (existsSync(object)) return object;
  const ir = join(outDir, `${name}.ll`);
  // As their Makefile: clang to LLVM IR, llc to the object (run in xrp-bpf/, where it runs).
  const cc = run(clangCommand(), [...THEIR_CLANG_FLAGS, ...OUR_INCLUDES, ...THEIR_WARNING_FLAGS, '-o', ir, source], join(checkoutDir, 'xrp-bpf'));
  if (!cc.ok) throw new OriginalsError(`clang failed on ${source}:\n${cc.out}`);
  const partial = `${object}.${process.pid}.tmp`;
  const llc = run(llcCommand(), ['-march=bpf', '-filetype=obj', '-o', partial, ir]);
  if (!llc.ok) throw new OriginalsError(`llc failed on ${ir}:\n${llc.out}`);
  renameSync(partial, object); // complete objects only, should two processes build at once
  return object;
}

/** Compiles their get.c and range.c from the checkout at `dir` into `outDir` (default: a scratch folder under the system's tmpdir). */
export function buildOriginals(dir: string, outDir?: string): OriginalsBuild {
  const checkout = inspectCheckout(dir);
  const out = outDir ?? scratchDirFor(dir);
  mkdirSync(out, { recursive: true });
  return {
    checkout,
    outDir: out,
    get: { source: join(dir, 'xrp-bpf/get.c'), objectPath: compile(dir, 'get', out), programName: 'oliver_agg_func', sectionName: 'oliver_agg' },
    range: { source: join(dir, 'xrp-bpf/range.c'), objectPath: compile(dir, 'range', out), programName: 'oliver_range_func', sectionName: 'oliver_range' },
  };
}

const ccCommand = (): string => process.env['CC'] ?? 'gcc';

/** Why their command-line tool cannot be built here (no C compiler, files missing), or null. */
export function originalToolUnavailable(dir: string | undefined = bpfkvDirOf()): string | null {
  const why = originalsUnavailable(dir);
  if (why !== null || dir === undefined) return why ?? 'no checkout';
  for (const file of [...TOOL_SOURCES, ...TOOL_HEADERS]) {
    if (!existsSync(join(dir, file))) return `${dir} has no ${file}: not the BPF-KV layout this build knows`;
  }
  return run(ccCommand(), ['--version']).ok ? null : `${ccCommand()} is not installed (needed to compile their simplekv as their Makefile does)`;
}

/**
 * Compiles their command-line tool, simplekv (`simplekv DB LAYERS create|get|range ...`), unmodified
 * from the checkout at `dir`; returns its path. Its XRP paths need the patched kernel and fail with
 * ENOSYS here; `create` and the user-space get and range run.
 */
export function buildOriginalTool(dir: string, outDir?: string): string {
  inspectCheckout(dir);
  const hash = createHash('sha256');
  for (const file of [...TOOL_SOURCES, ...TOOL_HEADERS]) hash.update(readFileSync(join(dir, file)));
  for (const file of TOOL_SHIM_FILES) hash.update(readFileSync(join(root, file)));
  hash.update(JSON.stringify([THEIR_CC_FLAGS, THEIR_LDLIBS, ccCommand(), run(ccCommand(), ['--version']).out]));
  const out = outDir ?? join(tmpdir(), 'xrp-ts-originals', `tool-${hash.digest('hex').slice(0, 16)}`);
  mkdirSync(out, { recursive: true });
  const tool = join(out, 'simplekv');
  if (existsSync(tool)) return tool;
  const partial = `${tool}.${process.pid}.tmp`;
  const cc = run(ccCommand(), [...THEIR_CC_FLAGS, '-I', TOOL_SHIM_DIR, '-o', partial, ...TOOL_SOURCES, join(TOOL_SHIM_DIR, 'no-xrp.c'), ...THEIR_LDLIBS], dir);
  if (!cc.ok) throw new OriginalsError(`${ccCommand()} failed on their simplekv in ${dir}:\n${cc.out}`);
  renameSync(partial, tool);
  return tool;
}

/** One line about the checkout: its commit and whether their files are as committed. */
export function describeCheckout(c: OriginalsCheckout): string {
  const commit = c.commit === undefined ? 'not a git work tree' : `commit ${c.commit.slice(0, 12)}${c.commit === BPFKV_COMMIT ? '' : ` (the facts were checked at ${BPFKV_COMMIT.slice(0, 12)})`}`;
  const clean = c.clean === undefined ? '' : c.clean ? ', their files unmodified' : ', THEIR FILES ARE MODIFIED in this checkout';
  return `BPF-KV checkout ${c.dir}: ${commit}${clean}`;
}

function main(): void {
  const dir = bpfkvDirOf();
  if (dir === undefined) {
    console.error(`usage: node --import tsx scripts/build-originals.ts --bpfkv DIR [--out DIR]   (or env BPFKV_DIR)`);
    process.exit(2);
  }
  const outIndex = process.argv.indexOf('--out');
  const outDir = outIndex >= 0 ? resolve(process.argv[outIndex + 1] ?? '.') : undefined;
  try {
    const built = buildOriginals(dir, outDir);
    console.log(describeCheckout(built.checkout));
    for (const p of [built.get, built.range]) console.log(`${p.source} -> ${p.objectPath} (program ${p.programName}, section ${p.sectionName})`);
    const noTool = originalToolUnavailable(dir);
    if (noTool === null) console.log(`their simplekv (create, user-space get and range) -> ${buildOriginalTool(dir)}`);
    else console.log(`their simplekv is not built: ${noTool}`);
  } catch (error) {
    if (!(error instanceof OriginalsError)) throw error;
    console.error(`build-originals: ${error.message}`);
    process.exit(1);
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
