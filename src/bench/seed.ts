// Per-point seeds. A point's seed depends only on the suite seed, the
// experiment and the point's parameter values, never on its position in the
// sweep, the worker that runs it or the other points: `--set depth=3` gives
// the same rows for depth 3 as the whole sweep does.

import type { Point } from './types.ts';

/** The point's parameters as text with sorted keys (stable whatever the object's key order). */
export function canonicalPoint(point: Point): string {
  return Object.keys(point)
    .sort()
    .map((k) => `${k}=${JSON.stringify(point[k])}`)
    .join(',');
}

/** A 31-bit seed from FNV-1a over the text, finished with a murmur3 mix (never 0). */
export function pointSeed(suiteSeed: number, experimentId: string, point: Point): number {
  const text = `${suiteSeed}|${experimentId}|${canonicalPoint(point)}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 1) || 1;
}
