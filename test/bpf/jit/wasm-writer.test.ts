// The binary encoder: LEB128 against known encodings, and a module that V8 accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assembleModule, ByteWriter, I32, I64, Op } from '../../../src/bpf/jit/wasm-writer.ts';

const bytesOf = (write: (w: ByteWriter) => void): number[] => {
  const w = new ByteWriter();
  write(w);
  return [...w.finish()];
};

test('unsigned and signed LEB128', () => {
  assert.deepEqual(bytesOf((w) => w.u32(0)), [0x00]);
  assert.deepEqual(bytesOf((w) => w.u32(624485)), [0xe5, 0x8e, 0x26]);
  assert.deepEqual(bytesOf((w) => w.u32(0xffffffff)), [0xff, 0xff, 0xff, 0xff, 0x0f]);
  assert.deepEqual(bytesOf((w) => w.s32(-123456)), [0xc0, 0xbb, 0x78]);
  assert.deepEqual(bytesOf((w) => w.s32(63)), [0x3f]);
  assert.deepEqual(bytesOf((w) => w.s32(64)), [0xc0, 0x00]);
  assert.deepEqual(bytesOf((w) => w.s32(-64)), [0x40]);
  assert.deepEqual(bytesOf((w) => w.s32(-65)), [0xbf, 0x7f]);
  assert.deepEqual(bytesOf((w) => w.s32(-0x80000000)), [0x80, 0x80, 0x80, 0x80, 0x78]);
  // 64-bit values from (lo, hi) words
  assert.deepEqual(bytesOf((w) => w.s64(-1, -1)), [0x7f]);
  assert.deepEqual(bytesOf((w) => w.s64(0, 1)), [0x80, 0x80, 0x80, 0x80, 0x10]);
  assert.deepEqual(bytesOf((w) => w.s64(0, 0x80000000 | 0)), [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f]);
  assert.deepEqual(bytesOf((w) => w.s64(-1, 0)), [0xff, 0xff, 0xff, 0xff, 0x0f]);
});

test('the buffer grows past its initial size', () => {
  const w = new ByteWriter();
  for (let i = 0; i < 5000; i++) w.byte(i);
  const out = w.finish();
  assert.equal(out.length, 5000);
  assert.equal(out[4999], 4999 & 0xff);
});

test('an assembled module validates, instantiates and computes; code offsets point at the bodies', () => {
  // add(a: i64, b: i64) -> i64 and a constant function
  const add = new ByteWriter();
  add.byte(Op.local_get);
  add.u32(0);
  add.byte(Op.local_get);
  add.u32(1);
  add.byte(Op.i64_add);
  const seven = new ByteWriter();
  seven.byte(Op.i32_const);
  seven.s32(7);
  const m = assembleModule({
    types: [
      { params: [I64, I64], results: [I64] },
      { params: [], results: [I32] },
    ],
    imports: [],
    memoryImport: { module: 'env', name: 'memory' },
    globals: [{ type: I32, mutable: true, init: 0 }],
    funcs: [
      { type: 0, locals: [], code: add.finish() },
      { type: 1, locals: [[2, I64]], code: seven.finish() },
    ],
    exports: [
      { name: 'add', kind: 'func', index: 0 },
      { name: 'seven', kind: 'func', index: 1 },
    ],
  });
  assert.ok(WebAssembly.validate(m.bytes));
  const instance = new WebAssembly.Instance(new WebAssembly.Module(m.bytes), { env: { memory: new WebAssembly.Memory({ initial: 1 }) } });
  const exports = instance.exports as unknown as { add: (a: bigint, b: bigint) => bigint; seven: () => number };
  assert.equal(exports.add(40n, 2n), 42n);
  assert.equal(exports.seven(), 7);
  assert.equal(m.bytes[m.codeOffsets[0]!], Op.local_get);
  assert.equal(m.bytes[m.codeOffsets[1]!], Op.i32_const);
});
