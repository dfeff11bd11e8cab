// Emulated machines for the experiments: a fresh image in the run's scratch
// directory with one data file of real, position-dependent bytes (each 4-byte
// word holds its own file offset, so a read can be checked).

import { join } from 'node:path';
import { Machine } from '../kernel/machine.ts';

export interface DataMachineOptions {
  tmpDir: string;
  device: string;
  cores: number;
  seed: number;
  fileBytes: number;
  fileName?: string;
}

export function bootWithDataFile(o: DataMachineOptions): Machine {
  const m = Machine.boot({ imagePath: join(o.tmpDir, 'bench.img'), mkfsBytes: o.fileBytes + (8 << 20), profile: o.device, cores: o.cores, seed: o.seed });
  try {
    const inode = m.fs.create(o.fileName ?? 'data');
    const chunk = new Uint8Array(1 << 20);
    const view = new DataView(chunk.buffer);
    for (let off = 0; off < o.fileBytes; off += chunk.length) {
      for (let i = 0; i < chunk.length; i += 4) view.setUint32(i, (off + i) >>> 0, true);
      m.fs.write(inode, off, chunk.subarray(0, Math.min(chunk.length, o.fileBytes - off)));
    }
    return m;
  } catch (error) {
    m.shutdown();
    throw error;
  }
}
