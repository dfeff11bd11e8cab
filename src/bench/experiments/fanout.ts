// Experiment 7: fan-out. A storage function may name up to 16 next reads per
// hop (our extension of XRP). Here a whole f-ary tree is visited: with
// parallel resubmission the driver issues all children of a node at once on
// spare NVMe commands; serial resubmission reads them one after another on the
// request's one command. User space: read() per node (depth first), or
// io_uring with one batch per tree level.

import { fileURLToPath } from 'node:url';
import { errnoName } from '../../kernel/errno.ts';
import { IORING_OP_READ, ioUringSetup } from '../../kernel/io-uring.ts';
import { O_DIRECT, O_RDONLY } from '../../kernel/syscalls.ts';
import { loadXrpProgramFile, readXrp, XrpStatus, xrpStatusName } from '../../kernel/xrp/index.ts';
import { Histogram } from '../../sim/histogram.ts';
import type { SimThread, Task } from '../../sim/thread.ts';
import { at as itemAt, present } from '../../base/checked.ts';
import { BenchError } from '../errors.ts';
import { round2 } from '../round.ts';
import { bootWithDataFile } from '../machine-setup.ts';
import { lineChart } from '../plot.ts';
import type { Experiment } from '../types.ts';
import { buildWalkTree, parseWalkNode, WALK_NODE_BYTES, WALK_ROOT_OFFSET } from '../walk-tree.ts';

const WALK_OBJ = fileURLToPath(new URL('../../../bpf/xrp/walk.bpf.o', import.meta.url));
/** 'xrp' fans out in parallel (the default of read_xrp); 'xrp-serial' reads the children one by one. */
const MODES = ['xrp', 'xrp-serial', 'read', 'uring'] as const;
/** User CPU to parse one node in user space (as BPF-KV's user modes charge per block). */
const USER_NODE_CPU_NS = 50;
const RING_ENTRIES_MAX = 4096;

export const fanoutExperiment: Experiment = {
  id: 'fanout',
  number: 7,
  title: 'Fan-out: visiting a tree with parallel or serial resubmission',
  description:
    'One thread visits every node of a complete tree of 512-byte nodes (fan-out f, 3 levels: 1 + f + f² nodes). ' +
    'xrp: one read_xrp() whose storage function (walk.bpf.c) names all f children of each node, issued at once on ' +
    'spare NVMe commands; xrp-serial: the same call with the children read one after another on the request\'s one command; ' +
    'read: one pread() per node; uring: io_uring with all nodes of a level in one batch. y: mean time to visit the whole ' +
    'tree (µs, log scale). Parallel fan-out turns the device\'s internal parallelism into latency; serial is a chain of ' +
    'as many reads as there are nodes.',
  params: [
    { name: 'mode', unit: '', description: 'how the tree is read', kind: 'choice', choices: MODES },
    { name: 'fanout', unit: 'children', description: 'children per internal node', kind: 'int', min: 1, max: 16 },
    { name: 'levels', unit: 'levels', description: 'tree levels', kind: 'int', min: 1, max: 8 },
    { name: 'requests', unit: '', description: 'walks measured', kind: 'int', min: 1, max: 100_000 },
  ],
  axes: (c) => ({ mode: [...MODES], fanout: c.full ? [1, 2, 4, 8, 12, 16] : [1, 4, 16], levels: [3], requests: [c.full ? 200 : 20] }),
  cost: (p) => (Number(p['requests']) * (1 + Number(p['fanout']) + Number(p['fanout']) ** 2)) / 7000,
  run(point, ctx) {
    const mode = String(point['mode']);
    const tree = buildWalkTree(Number(point['fanout']), Number(point['levels']));
    const requests = Number(point['requests']);
    const m = bootWithDataFile({ tmpDir: ctx.tmpDir, device: ctx.device, cores: ctx.cores, seed: ctx.pointSeed, fileBytes: 1 << 20 });
    try {
      const inode = m.fs.create('tree');
      m.fs.write(inode, 0, tree.bytes);
      const proc = m.kernel.createProcess('walker', 64 << 20);
      const hist = new Histogram();
      let failure: string | null = null;
      let commandsPeak = 0;
      let firstStartNs = -1;
      let lastEndNs = 0;
      const readsBefore = { n: 0 };
      const body = function* (t: SimThread): Task {
        const fd = yield* proc.open(t, 'tree', O_RDONLY | O_DIRECT);
        if (fd < 0) {
          failure = `open: ${errnoName(fd)}`;
          return;
        }
        const dataBuf = proc.alloc(4096);
        const scratchBuf = proc.alloc(4096);
        const progFd = mode.startsWith('xrp') ? yield* loadXrpProgramFile(t, proc, WALK_OBJ, 'walk') : -1;
        const widest = Math.min(RING_ENTRIES_MAX, Math.max(...tree.levelOffsets.map((l) => l.length)));
        const bufs = mode === 'uring' || mode === 'read' ? Array.from({ length: widest }, () => proc.alloc(WALK_NODE_BYTES)) : [];
        let ring = null;
        if (mode === 'uring') {
          const r = yield* ioUringSetup(t, proc, { entries: widest });
          if (typeof r === 'number') {
            failure = `io_uring_setup: ${errnoName(r)}`;
            return;
          }
          ring = r;
        }
        readsBefore.n = m.controller.stats.reads;
        for (let q = 0; q < requests; q++) {
          const startNs = t.nowNs;
          if (firstStartNs < 0) firstStartNs = startNs;
          let visits = 0n;
          let sum = 0n;
          let tail = 0n;
          if (mode === 'xrp' || mode === 'xrp-serial') {
            proc.bytes(scratchBuf, 4096).fill(0);
            const r = yield* readXrp(t, proc, fd, dataBuf, WALK_NODE_BYTES, WALK_ROOT_OFFSET, progFd, scratchBuf, { fanout: mode === 'xrp' ? 'parallel' : 'serial' });
            if (typeof r === 'number' || r.status !== XrpStatus.DONE) {
              failure = `read_xrp: ${typeof r === 'number' ? errnoName(r) : xrpStatusName(r.status)}`;
              return;
            }
            if (r.commands > commandsPeak) commandsPeak = r.commands;
            const v = proc.mem.view;
            visits = v.getBigUint64(scratchBuf, true);
            sum = v.getBigUint64(scratchBuf + 8, true);
            tail = v.getBigUint64(scratchBuf + 16, true);
          } else if (mode === 'read') {
            const stack = [WALK_ROOT_OFFSET];
            while (stack.length > 0) {
              const off = present(stack.pop(), 'the walk stack');
              const n = yield* proc.pread(t, fd, itemAt(bufs, 0, 'node buffer'), WALK_NODE_BYTES, off);
              if (n !== WALK_NODE_BYTES) {
                failure = `pread at ${off}: ${n < 0 ? errnoName(n) : `${n} bytes`}`;
                return;
              }
              yield t.cpu(USER_NODE_CPU_NS);
              const node = parseWalkNode(proc.bytes(itemAt(bufs, 0, 'node buffer'), WALK_NODE_BYTES));
              visits++;
              sum += node.value;
              tail += node.tail;
              stack.push(...node.children.slice().reverse()); // the first child on top
            }
            commandsPeak = 1;
          } else {
            // io_uring: the nodes of one level in one batch (in ring-sized pieces), then their children.
            const openRing = present(ring, 'the io_uring ring');
            let level = [WALK_ROOT_OFFSET];
            while (level.length > 0) {
              const next: number[] = [];
              for (let from = 0; from < level.length; from += widest) {
                const piece = level.slice(from, from + widest);
                piece.forEach((off, k) => {
                  const sqe = present(openRing.getSqe(), 'a free SQE');
                  sqe.opcode = IORING_OP_READ;
                  sqe.fd = fd;
                  sqe.addr = itemAt(bufs, k, 'node buffer');
                  sqe.len = WALK_NODE_BYTES;
                  sqe.off = off;
                  sqe.userData = k;
                });
                const sub = yield* openRing.submitAndWait(t, piece.length);
                if (sub < 0) {
                  failure = `io_uring_enter: ${errnoName(sub)}`;
                  return;
                }
                for (let k = 0; k < piece.length; k++) {
                  const cqe = openRing.peekCqe();
                  if (cqe === null || cqe.res !== WALK_NODE_BYTES) {
                    failure = `io_uring read: ${cqe === null ? 'missing CQE' : errnoName(cqe.res)}`;
                    return;
                  }
                  openRing.cqeSeen();
                }
                if (piece.length > commandsPeak) commandsPeak = piece.length;
                for (let k = 0; k < piece.length; k++) {
                  yield t.cpu(USER_NODE_CPU_NS);
                  const node = parseWalkNode(proc.bytes(itemAt(bufs, k, 'node buffer'), WALK_NODE_BYTES));
                  visits++;
                  sum += node.value;
                  tail += node.tail;
                  next.push(...node.children);
                }
              }
              level = next;
            }
          }
          const e = tree.expected;
          if (visits !== e.visits || sum !== e.sum || tail !== e.tail) {
            failure = `walk ${q}: got visits ${visits} sum ${sum} tail ${tail}, expected ${e.visits} ${e.sum} ${e.tail}`;
            return;
          }
          hist.record(t.nowNs - startNs);
          lastEndNs = t.nowNs;
        }
        ring?.exit();
      };
      m.sim.spawn('walker', body, { affinity: [0] });
      m.sim.run();
      if (failure !== null) throw new BenchError(`fanout (${mode}, fan-out ${tree.fanout}): ${failure}`);
      const s = hist.summary();
      return [{
        nodes: tree.nodes,
        meanNs: Math.round(s.meanNs),
        p99Ns: s.p99Ns,
        readsPerWalk: round2((m.controller.stats.reads - readsBefore.n) / requests),
        commandsPeak,
        kWalksPerSec: round2(requests / ((lastEndNs - firstStartNs) / 1e6)),
        nsPerNode: round2(s.meanNs / tree.nodes),
      }];
    } finally {
      m.shutdown();
    }
  },
  columns: [
    { key: 'mode', label: 'mode', unit: '' },
    { key: 'fanout', label: 'fan-out', unit: '' },
    { key: 'nodes', label: 'nodes', unit: '' },
    { key: 'meanNs', label: 'walk mean', unit: 'ns' },
    { key: 'p99Ns', label: 'walk p99', unit: 'ns' },
    { key: 'nsPerNode', label: 'per node', unit: 'ns', digits: 0 },
    { key: 'commandsPeak', label: 'commands in flight', unit: '' },
  ],
  plot(rows) {
    return lineChart({
      rows: rows.map((r) => ({ ...r, meanUs: (r['meanNs'] as number) / 1000 })),
      x: { field: 'fanout', title: 'fan-out (children per node, log scale)', log: true },
      y: { field: 'meanUs', title: 'time to visit the whole tree (µs, log scale)', log: true },
      color: { field: 'mode', title: 'mode', sort: MODES },
      width: 420,
    });
  },
  headline(rows) {
    const widest = Math.max(...rows.map((r) => r['fanout'] as number));
    const at = (m: string) => rows.find((r) => r['mode'] === m && r['fanout'] === widest);
    const par = at('xrp');
    const ser = at('xrp-serial');
    const uring = at('uring');
    const out: string[] = [];
    if (par !== undefined && ser !== undefined) out.push(`fan-out ${widest} (${String(par['nodes'])} nodes): parallel resubmission ${((ser['meanNs'] as number) / (par['meanNs'] as number)).toFixed(1)}x faster than serial (${((par['meanNs'] as number) / 1000).toFixed(1)} vs ${((ser['meanNs'] as number) / 1000).toFixed(1)} µs)`);
    if (par !== undefined && uring !== undefined) out.push(`fan-out ${widest}: XRP parallel ${((par['meanNs'] as number) / 1000).toFixed(1)} µs vs io_uring level batches ${((uring['meanNs'] as number) / 1000).toFixed(1)} µs`);
    return out;
  },
};
