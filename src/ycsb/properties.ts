// Java's .properties format, as YCSB reads its workload files
// (java.util.Properties.load): `key=value`, `key: value` or `key value`,
// comments from # or !, a backslash at the end of a line continues it,
// \t \n \r \f \uXXXX and \x escapes. Later keys override earlier ones.

import { WtError } from '../wt/errors.ts';
import { at } from '../base/checked.ts';

function unescape(text: string, file: string, line: number): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = text[++i];
    if (n === undefined) break;
    if (n === 't') out += '\t';
    else if (n === 'n') out += '\n';
    else if (n === 'r') out += '\r';
    else if (n === 'f') out += '\f';
    else if (n === 'u') {
      const hex = text.slice(i + 1, i + 5);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new WtError('YCSB_PROPERTY', `${file}:${line}: malformed \\u escape '\\u${hex}'`);
      out += String.fromCharCode(parseInt(hex, 16));
      i += 4;
    } else out += n;
  }
  return out;
}

/** Parses properties text; `file` names it in errors. */
export function parseProperties(text: string, file = 'properties'): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    const first = i + 1;
    let line = at(lines, i, 'properties line').replace(/^[ \t\f]+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    // an odd number of trailing backslashes continues the line
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && i + 1 < lines.length) {
      line = line.slice(0, -1) + at(lines, ++i, 'properties continuation line').replace(/^[ \t\f]+/, '');
    }
    let k = 0;
    while (k < line.length && !/[=: \t\f]/.test(line.charAt(k))) k += line[k] === '\\' ? 2 : 1;
    const key = unescape(line.slice(0, k), file, first);
    let rest = line.slice(k).replace(/^[ \t\f]*/, '');
    if (rest.startsWith('=') || rest.startsWith(':')) rest = rest.slice(1).replace(/^[ \t\f]*/, '');
    out.set(key, unescape(rest, file, first));
  }
  return out;
}
