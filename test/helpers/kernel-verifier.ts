// Storage functions under the REAL Linux verifier: a wrapper source (see
// kernel-wrap.h) is compiled with clang and loaded into the running kernel with
// bpftool; a control source that must be rejected proves the check has teeth.
// Skipped, saying why, where the machine has no clang, no bpftool, or no
// privilege to load programs.
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const CLANG = ['-O2', '-g', '-target', 'bpf', '-Wall', '-Werror', '-I', 'bpf/include', '-I', '/usr/include/x86_64-linux-gnu'];

function run(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: ROOT });
  return { ok: !r.error && r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error?.message ?? ''}` };
}

/** A bpffs to pin into: an existing mount, or one mounted for this test (root only). */
function bpffs(dir: string): { path: string; unmount: boolean } | string {
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n');
  const existing = mounts.map((l) => l.split(' ')).find((f) => f[2] === 'bpf');
  if (existing) return { path: existing[1]!, unmount: false };
  const mnt = join(dir, 'bpffs');
  run('mkdir', ['-p', mnt]);
  const m = run('mount', ['-t', 'bpf', 'bpf', mnt]);
  return m.ok ? { path: mnt, unmount: true } : `cannot mount a bpffs: ${m.out.trim()}`;
}

export interface KernelVerifierCase {
  /** Short name for temporary files and pins. */
  tag: string;
  /** The wrapper source, relative to the checkout. */
  source: string;
  /** Extra include directories, relative to the checkout. */
  includes?: string[];
  /** Socket-filter programs the wrapper defines: each must be loaded. */
  programs: string[];
  /** Source text of a control program the kernel must reject, and what its log must say. */
  control: { source: string; why: string; log: RegExp };
}

/** Loads `c.source` into the running kernel (all programs must pass) and checks that the control is rejected. */
export function checkUnderKernelVerifier(t: TestContext, c: KernelVerifierCase): void {
  for (const tool of ['clang', 'bpftool']) {
    if (!run('which', [tool]).ok) return void t.skip(`${tool} is not installed`);
  }
  const flags = [...CLANG, ...(c.includes ?? []).flatMap((dir) => ['-I', dir])];
  const dir = mkdtempSync(join(tmpdir(), `${c.tag}-kernel-`));
  let fs: ReturnType<typeof bpffs> | undefined;
  try {
    const object = join(dir, 'verify.o');
    const built = run('clang', [...flags, '-c', c.source, '-o', object]);
    assert.ok(built.ok, built.out);
    fs = bpffs(dir);
    if (typeof fs === 'string') return void t.skip(fs);
    const pin = join(fs.path, `${c.tag}-verify-${process.pid}`);
    const load = run('bpftool', ['prog', 'loadall', object, pin]);
    if (!load.ok && /Operation not permitted|restricted to privileged/.test(load.out)) {
      return void t.skip(`no privilege to load BPF programs: ${load.out.trim().split('\n')[0]}`);
    }
    try {
      assert.ok(load.ok, `the kernel rejected ${c.source}:\n${load.out.split('\n').slice(-40).join('\n')}`);
      for (const name of c.programs) {
        const shown = run('bpftool', ['prog', 'show', 'pinned', join(pin, name)]);
        assert.ok(shown.ok && /socket_filter/.test(shown.out), `${name}: ${shown.out}`);
      }
    } finally {
      rmSync(pin, { recursive: true, force: true });
    }
    const controlSource = join(dir, 'control.bpf.c');
    writeFileSync(controlSource, c.control.source);
    const controlObject = join(dir, 'control.o');
    const controlBuilt = run('clang', [...flags, '-c', controlSource, '-o', controlObject]);
    assert.ok(controlBuilt.ok, controlBuilt.out);
    const controlPin = join(fs.path, `${c.tag}-verify-control-${process.pid}`);
    const control = run('bpftool', ['prog', 'loadall', controlObject, controlPin]);
    rmSync(controlPin, { recursive: true, force: true });
    assert.equal(control.ok, false, c.control.why);
    assert.match(control.out, c.control.log);
  } finally {
    if (fs !== undefined && typeof fs !== 'string' && fs.unmount) run('umount', [fs.path]);
    rmSync(dir, { recursive: true, force: true });
  }
}
