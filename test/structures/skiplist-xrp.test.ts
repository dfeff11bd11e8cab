// The skip list changing between queries on the emulated machine: inserts and
// deletes by SkipListWriter (appended nodes grow the file's extents, so the
// metadata digest changes) interleaved with read_xrp lookups and scans, all
// checked against a Map model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Machine } from '../../src/kernel/machine.ts';
import { O_DIRECT, O_RDONLY } from '../../src/kernel/syscalls.ts';
import { loadXrpProgramFile, readXrp, XrpStatus } from '../../src/kernel/xrp/index.ts';
import { Prng } from '../../src/base/prng.ts';
import type { ReadWriteFile } from '../../src/structures/skiplist.ts';
import { buildSkipList, SkipListWriter } from '../../src/structures/skiplist.ts';
import { SKIPLIST_GET_FN, SKIPLIST_RANGE_FN } from '../../src/structures/programs.ts';
import {
  readSlGetQuery,
  readSlRangeQuery,
  resumeSlRangeQuery,
  SL_VALUE_BYTES,
  writeSlGetQuery,
  writeSlRangeQuery,
  type SlPair,
} from '../../src/structures/skiplist-format.ts';
import { runThread, withMachine } from '../kernel/helpers.ts';

/** The file `name` of the machine's file system as a host-side read/write file (untimed management access). */
function machineFile(m: Machine, name: string): ReadWriteFile {
  const inode = m.fs.lookup(name) ?? m.fs.create(name);
  return {
    get sizeBytes() {
      return inode.sizeBytes;
    },
    pread(out, offsetBytes) {
      const n = Math.max(0, Math.min(out.length, inode.sizeBytes - offsetBytes));
      out.set(m.fs.read(inode, offsetBytes, n));
      return n;
    },
    write(offsetBytes, data) {
      m.fs.write(inode, offsetBytes, data);
    },
  };
}

function valueOf(key: bigint, version: number): Uint8Array {
  const v = new Uint8Array(SL_VALUE_BYTES);
  new DataView(v.buffer).setBigUint64(0, key, true);
  new DataView(v.buffer).setUint32(8, version, true);
  return v;
}

test('inserts and deletes between read_xrp lookups and scans: every answer equals the model', () => {
  withMachine({ cores: 2 }, (m) => {
    const file = machineFile(m, 'sl');
    const rng = new Prng(31);
    const model = new Map<bigint, Uint8Array>();
    const initial = Array.from({ length: 300 }, (_, i) => BigInt(i * 4));
    for (const key of initial) model.set(key, valueOf(key, 0));
    buildSkipList(file, initial.map((key) => ({ key, value: valueOf(key, 0) })), { seed: 2 });
    const writer = new SkipListWriter(file, { seed: 3 });
    const p = m.kernel.createProcess('app');
    let checked = 0;
    runThread(m, function* (t) {
      const fd = yield* p.open(t, 'sl', O_RDONLY | O_DIRECT);
      assert.ok(fd >= 0);
      const getFd = yield* loadXrpProgramFile(t, p, SKIPLIST_GET_FN.objectPath, SKIPLIST_GET_FN.program);
      const rangeFd = yield* loadXrpProgramFile(t, p, SKIPLIST_RANGE_FN.objectPath, SKIPLIST_RANGE_FN.program);
      const dataBuf = p.alloc(4096);
      const scratchBuf = p.alloc(4096);
      const scratch = p.bytes(scratchBuf, 4096);
      for (let round = 0; round < 25; round++) {
        for (let i = 0; i < 8; i++) {
          const key = BigInt(rng.nextBelow(1400));
          if (rng.nextBelow(3) === 0) assert.equal(writer.delete(key), model.delete(key));
          else {
            writer.insert(key, valueOf(key, round + 1));
            model.set(key, valueOf(key, round + 1));
          }
        }
        for (let i = 0; i < 6; i++) {
          const key = BigInt(rng.nextBelow(1400));
          writeSlGetQuery(scratch, key);
          const r = yield* readXrp(t, p, fd, dataBuf, 512, 0, getFd, scratchBuf);
          assert.ok(typeof r !== 'number' && r.status === XrpStatus.DONE, `get ${key}: ${typeof r === 'number' ? r : r.statusName}`);
          const got = readSlGetQuery(scratch);
          assert.equal(got.found, model.has(key), `round ${round} key ${key}`);
          assert.deepEqual(got.value, model.get(key));
          checked++;
        }
        const begin = BigInt(rng.nextBelow(1400));
        const end = begin + BigInt(rng.nextBelow(300));
        writeSlRangeQuery(scratch, begin, end);
        const pairs: SlPair[] = [];
        for (let pos = 0, call = 0; call < 100; call++) {
          const r = yield* readXrp(t, p, fd, dataBuf, 512, pos, rangeFd, scratchBuf);
          assert.ok(typeof r !== 'number' && r.status === XrpStatus.DONE);
          const page = readSlRangeQuery(scratch);
          pairs.push(...page.pairs);
          if (page.resumeOffset === 0) break;
          resumeSlRangeQuery(scratch);
          pos = page.resumeOffset;
        }
        const expected = [...model.entries()].filter(([k]) => k >= begin && k <= end).sort(([a], [b]) => (a < b ? -1 : 1));
        assert.deepEqual(pairs.map((x) => [x.key, x.value]), expected, `round ${round} range ${begin}..${end}`);
        checked++;
      }
    });
    assert.equal(checked, 25 * 7);
    assert.equal(writer.count, model.size);
    assert.ok(file.sizeBytes > 301 * 512, 'inserts appended nodes');
  });
});
