// Shared fixtures of the kernel tests: a machine over a fresh sparse image in a
// temporary directory, and a way to run one simulated thread to completion.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Machine } from '../../src/kernel/machine.ts';
import type { MachineOptions } from '../../src/kernel/machine.ts';
import type { SimThread, Task } from '../../src/sim/thread.ts';

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'xrp-kernel-test-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Boots a machine on a fresh image, runs fn, then shuts down and deletes the image. */
export function withMachine<T>(options: Partial<MachineOptions>, fn: (m: Machine) => T): T {
  const { dir, cleanup } = tempDir();
  const m = Machine.boot({ imagePath: join(dir, 'test.img'), mkfsBytes: 64 << 20, cores: 2, seed: 7, ...options });
  try {
    return fn(m);
  } finally {
    m.shutdown();
    cleanup();
  }
}

/** Runs `body` as one thread on core 0 until the simulation drains; returns its result. */
export function runThread<T>(m: Machine, body: (t: SimThread) => Task<T>): T {
  let out: { value: T } | null = null;
  m.sim.spawn('test', function* (t) {
    out = { value: yield* body(t) };
  }, { affinity: [0] });
  m.sim.run();
  if (out === null) throw new Error('test thread did not finish');
  return (out as { value: T }).value;
}

/** Deterministic bytes: byte i of the pattern with `seed`. */
export function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
