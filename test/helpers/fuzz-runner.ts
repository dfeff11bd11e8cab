// The child side of the fuzzer (test/helpers/fuzz.ts): runs one case at a time,
// named by its kind and seed (the input is made here from the seed, so a case
// is repeated by its seed alone), and replies with its outcome. A case that
// throws anything but a typed error (XrpError), or whose engines disagree, is
// a failure; one that does not answer in time is killed by the parent.

import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XrpError } from '../../src/base/errors.ts';
import { loadElf } from '../../src/bpf/elf/elf.ts';
import { verify } from '../../src/bpf/verifier/verifier.ts';
import { buildKvBytes } from '../../src/kv/builder.ts';
import { kvGeometry } from '../../src/kv/format.ts';
import { createKvImage } from '../../src/kv/kv-db.ts';
import { runKvLookups } from '../../src/kv/modes.ts';
import { Prng } from '../../src/base/prng.ts';
import { mutateElf, type MutationKind } from './elf-mutate.ts';
import { CorpusDir, disagreement, laidOut, outcomeOf, randomCorruption, randomLayout, type KvEngineName, type KvQuery, type Outcome } from './kv-corrupt.ts';

export type FuzzKind = 'elf' | 'kv' | 'image';
export interface FuzzCase {
  kind: FuzzKind;
  seed: number;
}
export interface FuzzReply {
  ok: boolean;
  /** what the case was and what came out */
  what: string;
  outcome: string;
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function shippedObjects(dir = join(ROOT, 'bpf')): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...shippedObjects(p));
    else if (name.endsWith('.bpf.o')) out.push(p);
  }
  return out.sort();
}

const typed = (e: unknown): e is XrpError => e instanceof XrpError;
const OBJECTS = shippedObjects();
const KINDS: MutationKind[] = ['code-byte', 'code-bits', 'any-byte'];

function elfCase(rng: Prng): FuzzReply {
  const object = OBJECTS[rng.nextBelow(OBJECTS.length)]!;
  const kind = KINDS[rng.nextBelow(KINDS.length)]!;
  const { bytes, what } = mutateElf(rng, new Uint8Array(readFileSync(object)), kind, 1 + rng.nextBelow(8));
  const name = `${relative(ROOT, object)} ${what}`;
  try {
    const parsed = loadElf(bytes, object);
    const verdicts = parsed.programs.map((p) => {
      if (p.sectionName !== 'xrp') return `${p.name}: not an xrp program`;
      const r = verify(p, { type: 'xrp', maps: parsed.maps });
      return `${p.name}: ${r.ok ? 'accepted' : r.error.reason.slice(0, 80)}`;
    });
    return { ok: true, what: name, outcome: verdicts.join('; ') };
  } catch (e) {
    return { ok: typed(e), what: name, outcome: typed(e) ? `load error ${e.code}` : `CRASH ${(e as Error)?.stack ?? String(e)}` };
  }
}

let kvClean: Uint8Array | undefined;
let corpus: CorpusDir | undefined;
const KV_FUZZ_ENGINES: KvEngineName[] = ['read', 'xrp', 'native', 'reference'];

async function kvCase(rng: Prng): Promise<FuzzReply> {
  const layers = 2;
  const g = kvGeometry(layers);
  kvClean ??= await buildKvBytes({ layers });
  corpus ??= new CorpusDir();
  const forRange = rng.nextBelow(2) === 1;
  const c = randomCorruption(rng, kvClean, g, !forRange);
  const query: KvQuery = forRange
    ? { kind: 'range', begin: BigInt(rng.nextBelow(g.keyCount)), end: BigInt(rng.nextBelow(g.keyCount)) + 40n }
    : { kind: 'get', keys: [BigInt(rng.nextBelow(g.keyCount))] };
  // one case in four also lies on disk with holes, unwritten, moved extents or a short extent map (a truncated file cannot)
  const layout = rng.nextBelow(4) === 0 && c.bytes.length === kvClean.length ? randomLayout(rng, c.bytes.length) : undefined;
  const file = layout === undefined ? corpus.put(c.bytes) : corpus.put(laidOut(c.bytes, layout), layout);
  const outcomes: Outcome[] = [];
  for (const engine of KV_FUZZ_ENGINES) outcomes.push(await outcomeOf(engine, file, query));
  const what = `${c.name}${layout !== undefined ? `, laid out ${JSON.stringify(layout)}` : ''}; ${query.kind === 'get' ? `get ${query.keys[0]}` : `range [${query.begin}, ${query.end})`}`;
  for (let i = 1; i < outcomes.length; i++) {
    const diff = disagreement(outcomes[0]!, outcomes[i]!);
    if (diff !== null) return { ok: false, what, outcome: `${KV_FUZZ_ENGINES[0]} vs ${KV_FUZZ_ENGINES[i]}: ${diff}` };
  }
  const o = outcomes[0]!;
  return { ok: true, what, outcome: o.kind === 'answer' ? 'answer' : o.check };
}

let cleanImage: Uint8Array | undefined;
let imageDir: string | undefined;

async function imageCase(rng: Prng, seed: number): Promise<FuzzReply> {
  imageDir ??= mkdtempSync(join(tmpdir(), 'fuzz-image-'));
  const cleanPath = join(imageDir, 'clean.img');
  if (cleanImage === undefined) {
    if (!existsSync(cleanPath)) await createKvImage(cleanPath, { layers: 1, storage: 'written' });
    cleanImage = new Uint8Array(readFileSync(cleanPath));
  }
  const b = cleanImage.slice();
  // the metadata (superblock, inode table, extent maps) is at the front; the file's blocks follow
  const span = Math.min(b.length, 1 << 20);
  const n = 1 + rng.nextBelow(8);
  const changed: number[] = [];
  for (let k = 0; k < n; k++) {
    const at = rng.nextBelow(rng.nextBelow(4) === 0 ? span : 8192);
    b[at] = rng.nextBelow(256);
    changed.push(at);
  }
  const path = join(imageDir, `case-${seed}.img`);
  writeFileSync(path, b);
  const what = `image bytes ${changed.join(',')}`;
  try {
    const run = runKvLookups({ db: path, mode: rng.nextBelow(2) === 0 ? 'read' : 'xrp', keys: [BigInt(rng.nextBelow(31))], requests: 1 });
    return { ok: true, what, outcome: `answer found=${run.answers?.[0]?.found}` };
  } catch (e) {
    return { ok: typed(e), what, outcome: typed(e) ? `error ${e.code}` : `CRASH ${(e as Error)?.stack ?? String(e)}` };
  }
}

export async function runCase(c: FuzzCase): Promise<FuzzReply> {
  const rng = new Prng(c.seed);
  if (c.kind === 'elf') return elfCase(rng);
  if (c.kind === 'kv') return kvCase(rng);
  return imageCase(rng, c.seed);
}

// as a child process: one case per message
if (process.send !== undefined) {
  process.on('message', (m: FuzzCase) => {
    runCase(m).then(
      (r) => process.send?.(r),
      (e: unknown) => process.send?.({ ok: false, what: `${m.kind} ${m.seed}`, outcome: `CRASH ${(e as Error)?.stack ?? String(e)}` }),
    );
  });
  process.on('disconnect', () => {
    corpus?.close();
    process.exit(0);
  });
}
