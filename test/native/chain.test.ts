// The native resubmission loop (src/native/chain.ts) in-process, without
// threads: every status on scripted blocks, and the same status, counts, stop
// offset, pending reads and scratch bytes as the emulated read_xrp (serial
// fan-out) on random fan-out trees and chains.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChainRunner, readProgramSource, type BlockReader, type ChainOutcome, type ProgramSource } from '../../src/native/chain.ts';
import { readXrp, XrpResult, XrpStatus } from '../../src/kernel/xrp/index.ts';
import { runThread, withMachine } from '../kernel/helpers.ts';
import { CHAIN_OBJ, chainFile, putFile, randomTree, refWalk, setup, TestRng, WALK_OBJ } from '../kernel/xrp/helpers.ts';
import { SCRIPTED, scriptedFile, scriptedLog, SPIN, type BlockSpec } from './helpers.ts';

function memoryReader(bytes: Uint8Array): BlockReader {
  return {
    sizeBytes: bytes.length,
    read(buf, at, lengthBytes, positionBytes) {
      const n = Math.max(0, Math.min(lengthBytes, bytes.length - positionBytes));
      buf.set(bytes.subarray(positionBytes, positionBytes + n), at);
      return n;
    },
  };
}

function runScripted(blocks: BlockSpec[], options: { start?: number; size?: number; limit?: number; totalBlocks?: number } = {}): { out: ChainOutcome; log: number[]; runner: ChainRunner } {
  const runner = new ChainRunner({ kind: 'program', program: SCRIPTED });
  const out = runner.run(memoryReader(scriptedFile(blocks, options.totalBlocks)), {
    offsetBytes: options.start ?? 0,
    sizeBytes: options.size ?? 512,
    resubmitLimit: options.limit ?? 4096,
  });
  return { out, log: scriptedLog(runner.scratchBytes), runner };
}

test('a chain of blocks ends DONE after visiting each once; stop offset = the block that set done', () => {
  const blocks: BlockSpec[] = Array.from({ length: 8 }, (_, i) => (i < 7 ? { next: [[(i + 1) * 512, 0]] } : { done: true }));
  const { out, log } = runScripted(blocks);
  assert.equal(out.status, XrpStatus.DONE);
  assert.deepEqual(log, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(out.reads, 8);
  assert.equal(out.resubmissions, 7);
  assert.equal(out.stopOffsetBytes, 7 * 512);
  assert.equal(out.ends, 0);
});

test('statuses: PROG_ERROR, OUT_OF_FILE, MISALIGNED, INVALID_SIZE, LIMIT, FAULT', () => {
  const err = runScripted([{ next: [[512, 0]] }, { ret: 5n }]);
  assert.equal(err.out.status, XrpStatus.PROG_ERROR);
  assert.equal(err.out.progRet, 5n);
  assert.equal(err.out.stopOffsetBytes, 512, 'the block the program failed on');

  const oof = runScripted([{ next: [[4096, 0]] }], { totalBlocks: 2 });
  assert.equal(oof.out.status, XrpStatus.OUT_OF_FILE);
  assert.equal(oof.out.stopOffsetBytes, 4096);
  assert.deepEqual(oof.out.pending, [], 'terminal: nothing to resume');
  const first = runScripted([{ done: true }], { start: 1024 });
  assert.equal(first.out.status, XrpStatus.OUT_OF_FILE);
  assert.equal(first.out.reads, 0, 'the first read past the end makes no I/O');

  const mis = runScripted([{ next: [[700, 0]] }, { done: true }]);
  assert.equal(mis.out.status, XrpStatus.MISALIGNED);
  assert.deepEqual(mis.out.pending, [], 'terminal: the contract\'s reads are aligned, no fallback reads it');

  for (const bad of [100n, 513n, 4608n, 1n << 40n]) {
    const inv = runScripted([{ next: [[512, bad]] }, { done: true }]);
    assert.equal(inv.out.status, XrpStatus.INVALID_SIZE, `size ${bad}`);
    assert.match(inv.out.detail, new RegExp(`size\\[0\\] is ${bad}`));
  }

  const cyclic = runScripted([{ next: [[512, 0]] }, { next: [[0, 0]] }], { limit: 10 });
  // next_addr 0 is "unchanged" for the scripted program, so block 1 re-reads itself: the branch's ctx persists
  assert.equal(cyclic.out.status, XrpStatus.LIMIT);
  assert.equal(cyclic.out.reads, 11);
  assert.equal(cyclic.out.resubmissions, 10);
  assert.deepEqual(cyclic.out.pending, [{ offsetBytes: 512, sizeBytes: 512 }]);

  const runner = new ChainRunner({ kind: 'program', program: SPIN }, 100);
  const fault = runner.run(memoryReader(new Uint8Array(512)), { offsetBytes: 0, sizeBytes: 512, resubmitLimit: 10 });
  assert.equal(fault.status, XrpStatus.FAULT);
  assert.match(fault.detail, /limit/i);
  const spinOk = new ChainRunner({ kind: 'program', program: SPIN }).run(memoryReader(new Uint8Array(512)), { offsetBytes: 0, sizeBytes: 512, resubmitLimit: 10 });
  assert.equal(spinOk.status, XrpStatus.DONE);
});

test('fan-out: every branch is visited (primary chain first, then the children in slot order); sizes up to 4096', () => {
  const blocks: BlockSpec[] = [
    { next: [[512, 0], [1024, 512], [2048, 1024], [3072, 4096]] },
    { done: true },
    { done: true },
    { done: true }, // 1536: never read on its own
    { done: true },
    { done: true },
    { done: true, tag: 6 },
  ];
  const { out, log } = runScripted(blocks, { totalBlocks: 14 });
  assert.equal(out.status, XrpStatus.DONE);
  assert.deepEqual(log, [0, 1, 2, 4, 6]);
  assert.equal(out.reads, 5);
  assert.equal(out.resubmissions, 4);
  // a failing branch does not stop the others; the first abnormal end is the status
  const mixed = runScripted([{ next: [[512, 0], [9999 * 512, 512], [1024, 512]] }, { ret: 3n }, { done: true }]);
  assert.equal(mixed.out.status, XrpStatus.PROG_ERROR);
  assert.equal(mixed.out.ends, 2);
  assert.deepEqual(mixed.log, [0, 1, 2], 'the third branch still ran');
});

test('a failing pread ends the branch with IO_ERROR; a file that shrank (short read) with MAPPING_CHANGED', () => {
  const bytes = scriptedFile([{ next: [[512, 0]] }, { done: true }]);
  const runner = new ChainRunner({ kind: 'program', program: SCRIPTED });
  const failing: BlockReader = {
    sizeBytes: bytes.length,
    read(buf, at, lengthBytes, positionBytes) {
      if (positionBytes === 512) throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
      return memoryReader(bytes).read(buf, at, lengthBytes, positionBytes);
    },
  };
  const io = runner.run(failing, { offsetBytes: 0, sizeBytes: 512, resubmitLimit: 10 });
  assert.equal(io.status, XrpStatus.IO_ERROR);
  assert.equal(io.stopOffsetBytes, 512);
  assert.match(io.detail, /EIO/);
  assert.deepEqual(io.pending, [], 'terminal');
  // the engine believes the file has 4 blocks; it now has 1
  const shrunk: BlockReader = { sizeBytes: 2048, read: memoryReader(bytes.subarray(0, 512)).read };
  const short = runner.run(shrunk, { offsetBytes: 0, sizeBytes: 512, resubmitLimit: 10 });
  assert.equal(short.status, XrpStatus.MAPPING_CHANGED);
  assert.deepEqual(short.pending, [{ offsetBytes: 512, sizeBytes: 512 }], 'resumable: a fallback reads the file as it is now');
});

test('a read crossing the end of the file is cut there and the rest of the page is zero', () => {
  const blocks: BlockSpec[] = [{ next: [[1024, 4096]] }, {}, { done: true, tag: 77 }];
  const { out, log, runner } = runScripted(blocks);
  assert.equal(out.status, XrpStatus.DONE);
  assert.deepEqual(log, [0, 77]);
  const page = runner.memory.bytes(runner.data);
  assert.ok(page.subarray(512).every((b) => b === 0));
});

// ---- the emulated read_xrp (serial fan-out) as the oracle ----

function emulated(bytes: Uint8Array, object: string, program: string, start: number, size: number, limit: number): { r: XrpResult; scratch: Uint8Array } {
  return withMachine({ profile: 'optane-p5800x', cores: 2 }, (m) => {
    putFile(m, 'f', bytes);
    const p = m.kernel.createProcess('app');
    return runThread(m, function* (t) {
      const s = yield* setup(t, p, 'f', object, program);
      const r = yield* readXrp(t, p, s.fd, s.dataBuf, size, start, s.progFd, s.scratchBuf, { fanout: 'serial', resubmitLimit: limit });
      if (typeof r === 'number') assert.fail(`read_xrp refused: ${r}`);
      return { r, scratch: p.bytes(s.scratchBuf, 4096).slice() };
    });
  });
}

function compare(source: ProgramSource, bytes: Uint8Array, object: string, program: string, start: number, size: number, limit: number, where: string): ChainOutcome {
  const { r, scratch } = emulated(bytes, object, program, start, size, limit);
  const runner = new ChainRunner(source);
  const out = runner.run(memoryReader(bytes), { offsetBytes: start, sizeBytes: size, resubmitLimit: limit });
  assert.equal(out.status, r.status, `${where}: native ${out.status} (${out.detail}), emulated ${r.statusName}`);
  assert.equal(out.reads, r.reads, `${where}: reads`);
  assert.equal(out.resubmissions, r.resubmissions, `${where}: resubmissions`);
  assert.equal(out.insnsExecuted, r.insnsExecuted, `${where}: instructions`);
  assert.equal(out.stopOffsetBytes, r.stopOffset, `${where}: stop offset`);
  assert.equal(out.progRet, r.progRet, `${where}: progRet`);
  assert.deepEqual(out.pending, r.pending, `${where}: pending`);
  assert.deepEqual(runner.scratchBytes, scratch, `${where}: scratch`);
  return out;
}

test('same results as the emulated read_xrp: random fan-out trees and cut chains (seeded)', () => {
  const statuses = new Set<number>();
  const walk = readProgramSource(WALK_OBJ, 'walk');
  const chain = readProgramSource(CHAIN_OBJ, 'chain');
  for (let i = 0; i < 6; i++) {
    const tr = randomTree(300 + i, 5 + i * 15);
    const limit = i % 2 === 0 ? 4096 : Math.max(1, tr.nodes >> 1);
    const out = compare(walk, tr.bytes, WALK_OBJ, 'walk', tr.root, tr.rootSize, limit, `tree ${i}`);
    if (limit === 4096) assert.equal(BigInt(out.reads), refWalk(tr.bytes, tr.root, tr.rootSize).visits, `tree ${i}: every node once`);
    statuses.add(out.status);
  }
  const rng = new TestRng(99);
  for (let i = 0; i < 6; i++) {
    const hops = 1 + rng.below(200);
    const cf = chainFile(hops, hops + 1 + rng.below(50), 500 + i);
    const view = new DataView(cf.bytes.buffer);
    const last = cf.order[cf.order.length - 1]!;
    // some chains end in a bad address instead of 0
    const tails = [0, cf.bytes.length + 512, 700, 12 * 1024 * 1024];
    view.setBigUint64(last, BigInt(tails[i % tails.length]!), true);
    statuses.add(compare(chain, cf.bytes, CHAIN_OBJ, 'chain', cf.start, 512, i === 5 ? hops >> 1 : 4096, `chain ${i} (${hops} hops)`).status);
  }
  for (const s of [XrpStatus.DONE, XrpStatus.LIMIT, XrpStatus.OUT_OF_FILE, XrpStatus.MISALIGNED]) assert.ok(statuses.has(s), `status ${s} covered`);
});
