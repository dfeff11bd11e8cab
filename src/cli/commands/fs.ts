// `xrp fs mkfs|put|get|ls|rm|defrag`: make an xrpfs image and manage its files
// (untimed management operations on the image file; the timed path is the
// emulated kernel's syscalls).

import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { XrpError } from '../../base/errors.ts';
import { UsageError } from '../errors.ts';
import { intIn } from '../options.ts';
import { ImageStore } from '../../device/image-store.ts';
import { FileSystem } from '../../kernel/fs/fs.ts';
import { FS_BLOCK_BYTES } from '../../kernel/fs/layout.ts';

class FsCliError extends XrpError {
  constructor(message: string) {
    super('FS_CLI', message);
  }
}

const CHUNK_BYTES = 8 << 20;

/** Parses sizes like 4096, 64K, 512M, 1G, 2T (binary units; KiB/MiB spellings too). */
export function parseSize(text: string): number {
  const m = /^(\d+)\s*([kmgt]?)(i?b)?$/i.exec(text.trim());
  if (m === null) throw new FsCliError(`invalid size '${text}' (examples: 65536, 64K, 512M, 1G)`);
  const shift = { '': 0, k: 10, m: 20, g: 30, t: 40 }[(m[2] ?? '').toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const bytes = Number(m[1]) * 2 ** shift;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new FsCliError(`size '${text}' is out of range`);
  return bytes;
}

/** parseSize as a value parser: a bad size is a usage error. */
function sizeOption(text: string): number {
  try {
    return parseSize(text);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function withFs<T>(image: string, readOnly: boolean, fn: (fs: FileSystem) => T): T {
  const store = ImageStore.open(image, { readOnly, cacheBytes: 0 });
  try {
    const fs = FileSystem.open(store);
    const result = fn(fs);
    if (!readOnly) fs.sync();
    return result;
  } finally {
    store.close();
  }
}

function fsCommand(program: Command): Command {
  return program.commands.find((c) => c.name() === 'fs') ?? program.command('fs').description('xrpfs images: make one, copy files in and out, list');
}

export function register(program: Command): void {
  const fs = fsCommand(program);
  fs.command('mkfs')
    .description('create (sparse) or overwrite IMAGE with an empty xrpfs file system')
    .argument('<image>', 'image file')
    .requiredOption('--size <bytes>', 'image size, e.g. 1G, 512M (binary units)', sizeOption)
    .option('--meta-blocks <n>', '4 KiB blocks reserved for metadata (default 1/512 of the image)', intIn(1))
    .action((image: string, options: { size: number; metaBlocks?: number }) => {
      const sizeBytes = options.size;
      if (sizeBytes % FS_BLOCK_BYTES !== 0) throw new UsageError(`--size must be a multiple of 4096, got ${sizeBytes}`);
      const metaBlocks = options.metaBlocks;
      const store = ImageStore.open(image, { create: true, truncate: true, sizeBytes, cacheBytes: 0 });
      try {
        const f = FileSystem.mkfs(store, metaBlocks === undefined ? {} : { metaBlocks });
        console.log(`${image}: xrpfs v1, ${f.totalBlocks} blocks of 4096 bytes, ${f.dataStartBlock - 1} metadata blocks, ${f.freeBlocks} free`);
      } finally {
        store.close();
      }
    });
  fs.command('put')
    .description('copy host file SRC into IMAGE as NAME (replacing an existing NAME)')
    .argument('<image>', 'image file')
    .argument('<src>', 'host file to copy in')
    .argument('<name>', 'file name inside the image')
    .action((image: string, src: string, name: string) => {
      let fd: number;
      try {
        fd = openSync(src, 'r');
      } catch (error) {
        throw new FsCliError(`cannot read ${src}: ${(error as Error).message}`);
      }
      try {
        const size = fstatSync(fd).size;
        withFs(image, false, (f) => {
          if (f.lookup(name) !== null) f.unlink(name);
          const inode = f.create(name);
          const buf = new Uint8Array(Math.min(CHUNK_BYTES, Math.max(size, 1)));
          let done = 0;
          while (done < size) {
            const n = readSync(fd, buf, 0, Math.min(buf.length, size - done), done);
            if (n === 0) break;
            f.write(inode, done, buf.subarray(0, n));
            done += n;
          }
          console.log(`${name}: ${done} bytes in ${inode.extents.length} extent(s), inode ${inode.ino}`);
        });
      } finally {
        closeSync(fd);
      }
    });
  fs.command('get')
    .description('copy file NAME out of IMAGE to host file DEST')
    .argument('<image>', 'image file')
    .argument('<name>', 'file name inside the image')
    .argument('<dest>', 'host file to write')
    .action((image: string, name: string, dest: string) => {
      withFs(image, true, (f) => {
        const inode = f.get(name);
        const out = openSync(dest, 'w');
        try {
          for (let off = 0; off < inode.sizeBytes; off += CHUNK_BYTES) {
            const bytes = f.read(inode, off, CHUNK_BYTES);
            writeSync(out, bytes, 0, bytes.length, off);
          }
        } finally {
          closeSync(out);
        }
        console.log(`${name}: ${inode.sizeBytes} bytes -> ${dest}`);
      });
    });
  fs.command('ls')
    .description('list the files of IMAGE (size, extents, inode)')
    .argument('<image>', 'image file')
    .option('--extents', 'also print every extent (logical block, length, physical block)')
    .action((image: string, options: { extents?: boolean }) => {
      withFs(image, true, (f) => {
        console.log(`${'inode'.padStart(7)} ${'size'.padStart(14)} ${'extents'.padStart(8)}  name`);
        for (const inode of f.list()) {
          console.log(`${String(inode.ino).padStart(7)} ${String(inode.sizeBytes).padStart(14)} ${String(inode.extents.length).padStart(8)}  ${inode.name}`);
          if (options.extents === true) {
            for (const e of inode.extents) {
              console.log(`${''.padStart(31)}lblk ${e.lblk} len ${e.len} -> pblk ${e.pblk}${e.unwritten ? ' (unwritten)' : ''}`);
            }
          }
        }
        const total = f.totalBlocks - f.dataStartBlock;
        console.log(`${f.list().length} file(s); ${total - f.freeBlocks} of ${total} data blocks used`);
      });
    });
  fs.command('rm')
    .description('delete file NAME from IMAGE')
    .argument('<image>', 'image file')
    .argument('<name>', 'file name inside the image')
    .action((image: string, name: string) => {
      withFs(image, false, (f) => f.unlink(name));
    });
  fs.command('defrag')
    .description('move file NAME of IMAGE into one contiguous run of blocks (changes its physical extents)')
    .argument('<image>', 'image file')
    .argument('<name>', 'file name inside the image')
    .action((image: string, name: string) => {
      withFs(image, false, (f) => {
        const r = f.defragment(f.get(name));
        console.log(`${name}: ${r.blocksMoved} blocks moved, ${r.extentsBefore} -> ${r.extentsAfter} extent(s)`);
      });
    });
}
