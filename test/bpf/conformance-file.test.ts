import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  ConformanceFileError,
  parseConformanceFile,
  rawWordsToBytes,
  readConformanceFile,
} from '../../src/bpf/conformance/file.ts';
import { decode } from '../../src/bpf/isa.ts';
import { Prng } from '../../src/base/prng.ts';
import { CORPUS } from '../helpers/corpus.ts';

const haveCorpus = existsSync(CORPUS);

const SAMPLE = `# Copyright (c) somebody
# SPDX-License-Identifier: MIT
-- asm
# a comment inside asm is kept verbatim
mov %r0, 1
add %r0, %r2 # trailing comment

exit
-- mem
00 11 22
# comment in mem
ff 0a
-- no register offset
call instruction
-- raw
0x00000001000000b7
# comment in raw
149
-- result
0xffffffffffffffff
`;

test('a .data file parses into name, asm (with its first line), mem, raw, result and kept sections', () => {
  const t = parseConformanceFile(SAMPLE, 'dir/sample.data');
  assert.equal(t.name, 'sample');
  assert.equal(t.fileName, 'dir/sample.data');
  assert.equal(t.asm, '# a comment inside asm is kept verbatim\nmov %r0, 1\nadd %r0, %r2 # trailing comment\n\nexit');
  assert.equal(t.asmFirstLine, 4);
  assert.deepEqual([...t.mem], [0x00, 0x11, 0x22, 0xff, 0x0a]);
  assert.deepEqual(t.raw, [0x00000001000000b7n, 149n]);
  assert.equal(t.result, 0xffffffffffffffffn);
  assert.equal(t.error, undefined);
  assert.equal(t.otherSections.length, 1);
  assert.equal(t.otherSections[0]!.name, 'no register offset');
  assert.deepEqual(t.otherSections[0]!.lines, ['call instruction']);
  assert.equal(t.otherSections[0]!.firstLine, 14);
});

test('raw words are little-endian slots: low byte is the opcode, then regs, off, imm', () => {
  const insns = decode(rawWordsToBytes([0x5566778800000018n, 0x1122334400000000n, 0x0000000000000095n]));
  assert.deepEqual(insns[0], { code: 0x18, dst: 0, src: 0, off: 0, imm: 0x55667788 });
  assert.deepEqual(insns[1], { code: 0, dst: 0, src: 0, off: 0, imm: 0x11223344 });
  assert.equal(insns[2]!.code, 0x95);
  const regs = decode(rawWordsToBytes([0xfffffffffff821b7n]))[0]!;
  assert.deepEqual(regs, { code: 0xb7, dst: 1, src: 2, off: -8, imm: -1 });
});

test('-- error sections, decimal and negative results, CRLF line ends', () => {
  const t = parseConformanceFile('-- asm\r\nexit\r\n-- error\r\ndivision by zero\r\n', 'e.data');
  assert.equal(t.error, 'division by zero');
  assert.equal(t.result, undefined);
  assert.equal(t.asm, 'exit');
  assert.equal(parseConformanceFile('-- asm\nexit\n-- result\n42\n').result, 42n);
  assert.equal(parseConformanceFile('-- asm\nexit\n-- result\n-1\n').result, 0xffffffffffffffffn);
  assert.equal(parseConformanceFile('-- asm\nexit\n-- result\n0x0\n').mem.length, 0);
});

function assertFileError(text: string, line: number, pattern: RegExp): void {
  assert.throws(
    () => parseConformanceFile(text, 'bad.data'),
    (e: unknown) => {
      assert.ok(e instanceof ConformanceFileError, `expected ConformanceFileError, got ${String(e)}`);
      assert.equal(e.line, line);
      assert.ok(e.message.startsWith(`bad.data:${line}: `), e.message);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

test('bad files give typed errors naming the file and line', () => {
  assertFileError('-- asm\nexit\n-- mem\n00 1g\n-- result\n0\n', 4, /memory byte '1g'/);
  assertFileError('-- asm\nexit\n-- mem\n100\n-- result\n0\n', 4, /memory byte '100'/);
  assertFileError('-- asm\nexit\n-- result\nzero\n', 4, /result 'zero' is not a number/);
  assertFileError('-- asm\nexit\n-- result\n1\n2\n', 5, /more than one value/);
  assertFileError('-- asm\nexit\n-- result\n0x10000000000000000\n', 4, /does not fit in 64 bits/);
  assertFileError('-- asm\nexit\n-- result\n1\n-- asm\nexit\n', 5, /duplicate section '-- asm' \(first at line 1\)/);
  assertFileError('-- raw\n0x95 0xzz\n-- result\n0\n', 2, /raw instruction word '0xzz'/);
  assertFileError('-- result\n0\n', 3, /no program/);
  assertFileError('# header\n-- asm\n# only a comment\n\n-- result\n0\n', 2, /empty `-- asm` section/);
  assertFileError('-- asm\nexit\n', 3, /no expectation/);
  assertFileError('-- asm\nexit\n--\n', 3, /without a name/);
  assert.throws(() => readConformanceFile('/nonexistent/x.data'), (e: unknown) => e instanceof ConformanceFileError && /cannot read file/.test(e.message));
});

test('the whole corpus parses: 313 files, every one with asm and a result', { skip: haveCorpus ? false : `no corpus at ${CORPUS}` }, () => {
  const files = readdirSync(CORPUS).filter((f) => f.endsWith('.data'));
  assert.equal(files.length, 313);
  let withMem = 0;
  let withRaw = 0;
  let withOther = 0;
  for (const file of files) {
    const t = readConformanceFile(join(CORPUS, file));
    assert.ok(t.asm !== undefined && t.asm.length > 0, file);
    assert.ok(t.result !== undefined, file);
    if (t.mem.length > 0) withMem++;
    if (t.raw) withRaw++;
    if (t.otherSections.length > 0) withOther++;
  }
  assert.equal(withMem, 40);
  assert.equal(withRaw, 1);
  assert.equal(withOther, 5); // two `-- c` and three `-- no register offset`
  const subnet = readConformanceFile(join(CORPUS, 'subnet.data'));
  assert.equal(subnet.mem.length, 74);
  assert.equal(subnet.result, 1n);
  assert.deepEqual(subnet.otherSections.map((s) => s.name), ['c']);
});

test('garbage in: 5,000 mutated files give a parsed test or a ConformanceFileError, nothing else', () => {
  const seed = 11;
  const prng = new Prng(seed);
  const alphabet = '- \n#0123456789abcdefxzasmrwuleo';
  for (let i = 0; i < 5000; i++) {
    let text = SAMPLE;
    for (let k = 1 + prng.nextBelow(6); k > 0; k--) {
      const at = prng.nextBelow(text.length + 1);
      const ch = alphabet[prng.nextBelow(alphabet.length)]!;
      const op = prng.nextBelow(3);
      text = op === 0 ? text.slice(0, at) + ch + text.slice(at) : op === 1 ? text.slice(0, at) + text.slice(at + 1) : text.slice(0, at) + ch + text.slice(at + 1);
    }
    try {
      parseConformanceFile(text, 'fuzz.data');
    } catch (e) {
      assert.ok(e instanceof ConformanceFileError, `seed ${seed} case ${i}: ${String(e)}`);
    }
  }
  // A header line of any length is read in linear time.
  assert.throws(() => parseConformanceFile(`--${' '.repeat(100_000)}\n`), /without a name/);
});
