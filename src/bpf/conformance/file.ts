// Parser of bpf_conformance `*.data` test files.
//
// A file is a sequence of sections, each opened by a `-- NAME` line:
//   -- asm     the program in uBPF assembler syntax (kept verbatim, comments included,
//              so that assembler errors can point at lines of the file)
//   -- raw     the program as 64-bit words (hex with 0x, or decimal), low byte = opcode
//   -- mem     hex bytes of the input memory
//   -- result  the expected r0 (hex with 0x, or decimal)
//   -- error   the expected error text
// Other sections (`-- c`, `-- no register offset`, ...) are kept, not interpreted.
// Lines starting with `#` outside `-- asm` are comments; so is everything before the
// first section (licence header).

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { XrpError } from '../../base/errors.ts';

export interface ConformanceSection {
  name: string;
  /** 1-based line number of the first line after the `-- NAME` header */
  firstLine: number;
  lines: string[];
}

export interface ConformanceTest {
  /** file name without directory and `.data` extension, e.g. `add64` */
  name: string;
  /** the file name as given to the parser, for messages */
  fileName: string;
  /** program text of `-- asm`, verbatim */
  asm?: string;
  /** 1-based line number in the file of the first line of `asm` (pass it to `assemble` as firstLine) */
  asmFirstLine?: number;
  /** program of `-- raw`, one 64-bit word per slot */
  raw?: bigint[];
  /** input memory (empty when there is no `-- mem`) */
  mem: Uint8Array;
  /** expected r0, as an unsigned 64-bit value */
  result?: bigint;
  /** expected error text */
  error?: string;
  /** sections this parser does not interpret (`-- c`, `-- no register offset`, ...) */
  otherSections: ConformanceSection[];
}

export class ConformanceFileError extends XrpError {
  constructor(
    readonly fileName: string,
    readonly line: number,
    reason: string,
  ) {
    super('CONFORMANCE_FILE', `${fileName}:${line}: ${reason}`);
  }
}

const KNOWN_SECTIONS = new Set(['asm', 'raw', 'mem', 'result', 'error']);
const U64_MAX = (1n << 64n) - 1n;

/** Read and parse one `.data` file. */
export function readConformanceFile(path: string): ConformanceTest {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConformanceFileError(path, 0, `cannot read file: ${(err as Error).message}`);
  }
  return parseConformanceFile(text, path);
}

/** Parse the text of a `.data` file; `fileName` is used for the test name and in messages. */
export function parseConformanceFile(text: string, fileName = '<conformance>'): ConformanceTest {
  const lines = text.split(/\r?\n/);
  const sections: ConformanceSection[] = [];
  let current: ConformanceSection | undefined;
  const seen = new Map<string, number>();

  lines.forEach((line, index) => {
    const lineNo = index + 1;
    if (line.startsWith('--')) {
      const name = line.slice(2).trim();
      if (name === '') throw new ConformanceFileError(fileName, lineNo, 'section header `--` without a name');
      if (KNOWN_SECTIONS.has(name)) {
        const previous = seen.get(name);
        if (previous !== undefined) {
          throw new ConformanceFileError(fileName, lineNo, `duplicate section '-- ${name}' (first at line ${previous})`);
        }
        seen.set(name, lineNo);
      }
      current = { name, firstLine: lineNo + 1, lines: [] };
      sections.push(current);
      return;
    }
    current?.lines.push(line);
  });

  const test: ConformanceTest = {
    name: basename(fileName).replace(/\.data$/, ''),
    fileName,
    mem: new Uint8Array(0),
    otherSections: [],
  };

  for (const section of sections) {
    switch (section.name) {
      case 'asm':
        if (contentLines(section).length === 0) throw new ConformanceFileError(fileName, section.firstLine - 1, 'empty `-- asm` section');
        test.asm = trimTrailingBlankLines(section.lines).join('\n');
        test.asmFirstLine = section.firstLine;
        break;
      case 'raw':
        test.raw = parseRaw(section, fileName);
        break;
      case 'mem':
        test.mem = parseMem(section, fileName);
        break;
      case 'result':
        test.result = parseResult(section, fileName);
        break;
      case 'error':
        test.error = contentLines(section)
          .map((l) => l.text.trim())
          .join('\n');
        break;
      default:
        test.otherSections.push(section);
    }
  }

  if (test.asm === undefined && test.raw === undefined) {
    throw new ConformanceFileError(fileName, lines.length, 'no program: the file has neither `-- asm` nor `-- raw`');
  }
  if (test.result === undefined && test.error === undefined) {
    throw new ConformanceFileError(fileName, lines.length, 'no expectation: the file has neither `-- result` nor `-- error`');
  }
  return test;
}

interface NumberedLine {
  lineNo: number;
  text: string;
}

/** Non-blank, non-comment lines of a section, with their line numbers. */
function contentLines(section: ConformanceSection): NumberedLine[] {
  const out: NumberedLine[] = [];
  section.lines.forEach((text, i) => {
    const trimmed = text.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    out.push({ lineNo: section.firstLine + i, text: trimmed });
  });
  return out;
}

function trimTrailingBlankLines(lines: string[]): string[] {
  const lastText = lines.reduce((last, line, i) => (line.trim() !== '' ? i : last), -1);
  return lines.slice(0, lastText + 1);
}

/** An integer token: `0x` hex or decimal, optionally negative. */
function parseIntegerToken(token: string): bigint | undefined {
  const m = /^(-?)(0x[0-9a-f]+|[0-9]+)$/i.exec(token);
  const [, sign, digits] = m ?? [];
  if (digits === undefined) return undefined;
  const magnitude = BigInt(digits);
  return sign === '-' ? -magnitude : magnitude;
}

/** A 64-bit value: 0..2^64-1, or a negative number down to -2^63 taken as two's complement. */
function parseU64(token: string, fileName: string, lineNo: number, what: string): bigint {
  const value = parseIntegerToken(token);
  if (value === undefined) throw new ConformanceFileError(fileName, lineNo, `${what} '${token}' is not a number`);
  if (value > U64_MAX || value < -(1n << 63n)) {
    throw new ConformanceFileError(fileName, lineNo, `${what} '${token}' does not fit in 64 bits`);
  }
  return BigInt.asUintN(64, value);
}

function parseRaw(section: ConformanceSection, fileName: string): bigint[] {
  const words: bigint[] = [];
  for (const { lineNo, text } of contentLines(section)) {
    for (const token of stripComment(text).split(/\s+/).filter(Boolean)) {
      words.push(parseU64(token, fileName, lineNo, 'raw instruction word'));
    }
  }
  if (words.length === 0) throw new ConformanceFileError(fileName, section.firstLine, 'empty `-- raw` section');
  return words;
}

function parseMem(section: ConformanceSection, fileName: string): Uint8Array {
  const bytes: number[] = [];
  for (const { lineNo, text } of contentLines(section)) {
    for (const token of stripComment(text).split(/\s+/).filter(Boolean)) {
      if (!/^(0x)?[0-9a-f]{1,2}$/i.test(token)) {
        throw new ConformanceFileError(fileName, lineNo, `memory byte '${token}' is not a hex byte (00..ff)`);
      }
      bytes.push(parseInt(token.replace(/^0x/i, ''), 16));
    }
  }
  return Uint8Array.from(bytes);
}

function parseResult(section: ConformanceSection, fileName: string): bigint {
  const tokens: NumberedLine[] = [];
  for (const line of contentLines(section)) {
    for (const token of stripComment(line.text).split(/\s+/).filter(Boolean)) tokens.push({ lineNo: line.lineNo, text: token });
  }
  const [only, second] = tokens;
  if (only === undefined) throw new ConformanceFileError(fileName, section.firstLine, 'empty `-- result` section');
  if (second !== undefined) {
    throw new ConformanceFileError(fileName, second.lineNo, `\`-- result\` holds more than one value ('${second.text}')`);
  }
  // bpf_conformance reads results as hex when they contain "0x", else decimal.
  return parseU64(only.text, fileName, only.lineNo, 'result');
}

function stripComment(text: string): string {
  const at = text.indexOf('#');
  return at < 0 ? text : text.slice(0, at);
}

/** Slots of a `-- raw` section: each word is a little-endian `struct bpf_insn` (low byte = opcode). */
export function rawWordsToBytes(words: readonly bigint[]): Uint8Array {
  const bytes = new Uint8Array(words.length * 8);
  const view = new DataView(bytes.buffer);
  words.forEach((word, i) => view.setBigUint64(i * 8, BigInt.asUintN(64, word), true));
  return bytes;
}
