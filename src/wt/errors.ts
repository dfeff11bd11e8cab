// Typed errors of the B+-tree engine and its YCSB driver. Each names what was
// wrong and where (the page's block number and byte offset in the file, the
// key, the property and its file).

import { XrpError } from '../base/errors.ts';

export type WtErrorCode = 'WT_PARAM' | 'WT_CORRUPT' | 'WT_IO' | 'WT_KEY' | 'WT_STATE' | 'YCSB_PROPERTY';

export class WtError extends XrpError {
  constructor(code: WtErrorCode, message: string) {
    super(code, message);
  }
}

export function paramError(message: string): WtError {
  return new WtError('WT_PARAM', message);
}

/** A page that fails its checks: names the block, its byte offset and the offset inside the page. */
export function corruptPage(block: number, offsetInPage: number, what: string): WtError {
  return new WtError('WT_CORRUPT', `corrupt page at block ${block} (file offset ${block * 4096}), byte ${offsetInPage}: ${what}`);
}
