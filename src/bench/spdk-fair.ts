// SPDK as its maintainers would set it up (the answer to the paper's unfair
// baseline): at most one polling thread per core, each with several lookups in
// flight on its own queue pair. Each lookup is the same user-space descent as
// the other modes (userLookup); a poller drives its N descents as coroutines:
// a descent submits its next read and parks; the poller reaps completions
// (spinning while none is there) and resumes the descents whose reads are in.

import type { Extent } from '../kernel/fs/extent-map.ts';
import { findExtent } from '../kernel/fs/extent-map.ts';
import { FS_BLOCK_BYTES } from '../kernel/fs/layout.ts';
import type { KvBlockIo } from '../kv/block-io.ts';
import { bootKvMachine, openKvFile } from '../kv/kv-db.ts';
import { BLOCK_BYTES } from '../kv/format.ts';
import { DEFAULT_USER_COSTS } from '../kv/modes.ts';
import { userLookup } from '../kv/user-ops.ts';
import { NVME_OP_READ } from '../device/command.ts';
import { Histogram } from '../sim/histogram.ts';
import type { LatencySummary } from '../sim/histogram.ts';
import type { SimThread, Task } from '../sim/thread.ts';
import { SpdkDriver } from '../spdk/spdk.ts';
import type { SpdkQpair } from '../spdk/spdk.ts';
import { at } from '../base/checked.ts';
import { BenchError } from './errors.ts';

/** What a parked descent yields to its poller (never reaches the simulator). */
const PARK = 0x7fff_0001;

/** One descent's block I/O: submit on the poller's queue pair, then park until the poller has its completion. */
class ParkingSpdkIo implements KvBlockIo {
  readonly mode = 'spdk';
  reads = 0;
  /** Command id in flight (-1: none) and, once reaped, its status. */
  cid = -1;
  status = -1;
  private readonly buf = new Uint8Array(FS_BLOCK_BYTES);
  private readonly view = this.buf.subarray(0, BLOCK_BYTES);

  constructor(
    private readonly qpair: SpdkQpair,
    private readonly extents: readonly Extent[],
  ) {}

  *read(t: SimThread, offsetBytes: number): Task<Uint8Array> {
    const lblk = Math.floor(offsetBytes / FS_BLOCK_BYTES);
    const e = this.extents[findExtent(this.extents, lblk)];
    if (e === undefined || e.unwritten) throw new BenchError(`spdk-fair: offset ${offsetBytes} is not mapped to written blocks`);
    const deviceBytes = (e.pblk + (lblk - e.lblk)) * FS_BLOCK_BYTES + (offsetBytes % FS_BLOCK_BYTES);
    this.cid = yield* this.qpair.submit(t, NVME_OP_READ, deviceBytes / BLOCK_BYTES, 1, this.buf);
    this.status = -1;
    yield PARK;
    if (this.status !== 0) throw new BenchError(`spdk-fair: read at offset ${offsetBytes} failed with NVMe status 0x${this.status.toString(16)}`);
    this.reads++;
    return this.view;
  }
}

export interface FairSpdkOptions {
  db: string;
  cores: number;
  profile: string;
  seed: number;
  /** Polling threads (at most the core count) and lookups in flight on each. */
  pollers: number;
  inFlight: number;
  /** Lookups each poller completes. */
  lookupsPerPoller: number;
}

export interface FairSpdkResult {
  latency: LatencySummary;
  lookupsPerSec: number;
  lookups: number;
}

export function runFairSpdk(o: FairSpdkOptions): FairSpdkResult {
  if (!Number.isSafeInteger(o.pollers) || o.pollers < 1 || o.pollers > o.cores) throw new BenchError(`spdk-fair: 1..${o.cores} pollers (one per core at most), got ${o.pollers}`);
  if (!Number.isSafeInteger(o.inFlight) || o.inFlight < 1 || o.inFlight > 128) throw new BenchError(`spdk-fair: 1..128 lookups in flight per poller, got ${o.inFlight}`);
  const m = bootKvMachine(o.db, { cores: o.cores, profile: o.profile, seed: o.seed });
  try {
    const file = openKvFile(m);
    const keyCount = file.geometry.keyCount;
    const extents = file.inode.extents.slice();
    const spdk = new SpdkDriver(m.sim, m.controller);
    const hist = new Histogram();
    let firstNs = Number.MAX_SAFE_INTEGER;
    let lastNs = 0;
    let failure: string | null = null;
    for (let p = 0; p < o.pollers; p++) {
      const qpair = spdk.allocQpair();
      m.sim.spawn(`spdk-fair-${p}`, function* (t: SimThread): Task {
        const ios = Array.from({ length: o.inFlight }, () => new ParkingSpdkIo(qpair, extents));
        const descents: (Task<{ found: boolean }> | null)[] = ios.map(() => null);
        const startNs = ios.map(() => 0);
        let started = 0;
        let active = 0;
        /** Runs descent i until it parks on a read or ends (then starts the next lookup in its slot). */
        function* drive(i: number): Task {
          let value = 0;
          for (;;) {
            let d = descents[i];
            if (d === null || d === undefined) {
              if (started === o.lookupsPerPoller) return;
              started++;
              active++;
              startNs[i] = t.nowNs;
              d = userLookup(t, at(ios, i, 'lookup slot'), BigInt(m.sim.rng.nextBelow(keyCount)), null, DEFAULT_USER_COSTS);
              descents[i] = d;
              value = 0;
            }
            const r = d.next(value);
            if (r.done === true) {
              if (!r.value.found) failure = 'a key of the dense file was not found';
              const lookupStartNs = at(startNs, i, 'lookup start');
              hist.record(t.nowNs - lookupStartNs);
              if (lookupStartNs < firstNs) firstNs = lookupStartNs;
              if (t.nowNs > lastNs) lastNs = t.nowNs;
              descents[i] = null;
              active--;
              continue;
            }
            if (r.value === PARK) return;
            value = yield r.value; // a CPU charge (or call) of the descent: the poller's thread does it
          }
        }
        for (let i = 0; i < o.inFlight; i++) yield* drive(i);
        while (active > 0) {
          yield* qpair.pollOrSpin(t);
          // Collect every finished read before resuming anyone: a resumed descent may reuse a command id.
          const ready: number[] = [];
          for (const [i, io] of ios.entries()) {
            const status = io.cid >= 0 ? (qpair.statusOf[io.cid] ?? -1) : -1; // -1: not finished (as statusOf marks it)
            if (status >= 0) {
              io.status = status;
              io.cid = -1;
              ready.push(i);
            }
          }
          for (const i of ready) yield* drive(i);
        }
      });
    }
    m.sim.run();
    if (failure !== null) throw new BenchError(`spdk-fair: ${failure}`);
    const makespanNs = Math.max(1, lastNs - firstNs);
    return { latency: hist.summary(), lookupsPerSec: (hist.count * 1e9) / makespanNs, lookups: hist.count };
  } finally {
    m.shutdown();
  }
}
