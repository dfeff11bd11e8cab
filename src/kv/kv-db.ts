// BPF-KV files inside an emulated machine's file system (xrpfs image).
//
// Two kinds of file, both readable by every timed path:
// - written: the builder's bytes, written into the file with the file
//   system's (untimed) management writes; any layer count that fits the disk
//   (5 layers are 2.3 GB, 6 layers are refused).
// - computed: the file's extents are allocated and marked written, as an
//   O_DIRECT write would leave them, but no data is stored; a marker file
//   `<name>.computed` (JSON) records it, and at boot the device's backing store
//   computes those blocks on demand (overlay-store.ts). Disk use stays at the
//   metadata whatever the depth, so 6 layers (67 GiB) run in a sparse image.
//
// A DB in the sense of the `xrp kv` commands is such an image file on the host.

import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import type { BackingStore } from '../device/backing-store.ts';
import type { ImageStore } from '../device/image-store.ts';
import type { DeviceProfile } from '../device/profiles.ts';
import { XrpError } from '../base/errors.ts';
import type { FileSystem, Inode } from '../kernel/fs/fs.ts';
import { FS_BLOCK_BYTES, FS_MAGIC } from '../kernel/fs/layout.ts';
import { Machine } from '../kernel/machine.ts';
import type { BlockSource } from '../base/block-source.ts';
import { buildKv } from './builder.ts';
import { checkRoot, kvLayersOfSize, KvStructureError } from './checks.ts';
import { ComputedKvStore } from './computed-store.ts';
import { kvGeometry, LAYERS_MAX, LAYERS_MIN, NODE_BYTES, type KvGeometry } from './format.ts';
import { ComputedOverlayStore, regionsOfInode, type ComputedRegion } from './overlay-store.ts';

export class KvDbError extends XrpError {
  constructor(message: string) {
    super('KV_DB', message);
  }
}

export const KV_FILE_DEFAULT = 'kv.db';
export const COMPUTED_MARKER_SUFFIX = '.computed';
export type KvStorage = 'written' | 'computed';
/** Written files above this depth would take 67 GiB of disk. */
export const WRITTEN_LAYERS_MAX = 5;

/** The default storage of a depth: written up to 4 layers (72 MB), computed beyond. */
export function defaultStorage(layers: number): KvStorage {
  return layers <= 4 ? 'written' : 'computed';
}

interface ComputedMarker {
  format: 'bpf-kv';
  version: 1;
  layers: number;
}

/** Image bytes for a file of `fileBytes`: its blocks, the metadata area (1/512 of the image), 16 MiB of slack. */
export function imageBytesFor(fileBytes: number): number {
  const fileBlocks = Math.ceil(fileBytes / FS_BLOCK_BYTES);
  return (fileBlocks + Math.ceil(fileBlocks / 256) + 4096) * FS_BLOCK_BYTES;
}

/** Untimed reads of a file of the emulated machine: its extent map, then the device's backing store (computed blocks included). */
export class EmulatedFileSource implements BlockSource {
  constructor(
    private readonly fs: FileSystem,
    private readonly store: BackingStore,
    readonly inode: Inode,
  ) {}

  get sizeBytes(): number {
    return this.inode.sizeBytes;
  }

  pread(out: Uint8Array, offsetBytes: number): number {
    if (!Number.isSafeInteger(offsetBytes) || offsetBytes < 0) throw new KvDbError(`invalid read offset ${String(offsetBytes)}`);
    const n = Math.max(0, Math.min(out.length, this.inode.sizeBytes - offsetBytes));
    if (n === 0) return 0;
    const first = Math.floor(offsetBytes / FS_BLOCK_BYTES);
    const end = Math.ceil((offsetBytes + n) / FS_BLOCK_BYTES);
    for (const s of this.fs.map(this.inode, first, end - first)) {
      const a = Math.max(offsetBytes, s.lblk * FS_BLOCK_BYTES);
      const b = Math.min(offsetBytes + n, (s.lblk + s.len) * FS_BLOCK_BYTES);
      if (s.pblk < 0 || s.unwritten) out.fill(0, a - offsetBytes, b - offsetBytes);
      else this.store.read(s.pblk * FS_BLOCK_BYTES + (a - s.lblk * FS_BLOCK_BYTES), out, a - offsetBytes, b - a);
    }
    return n;
  }
}

function markerName(fileName: string): string {
  return fileName + COMPUTED_MARKER_SUFFIX;
}

function readMarker(fs: FileSystem, markerInode: Inode): ComputedMarker {
  const where = `marker '${markerInode.name}' in ${fs.store.path}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(fs.read(markerInode, 0, Math.min(markerInode.sizeBytes, 4096))));
  } catch {
    throw new KvDbError(`${where} is not JSON`);
  }
  const m = parsed as Partial<ComputedMarker>;
  if (typeof parsed !== 'object' || parsed === null || m.format !== 'bpf-kv' || m.version !== 1 || typeof m.layers !== 'number') {
    throw new KvDbError(`${where} is not a BPF-KV marker ({"format":"bpf-kv","version":1,"layers":L})`);
  }
  if (!Number.isInteger(m.layers) || m.layers < LAYERS_MIN || m.layers > LAYERS_MAX) throw new KvDbError(`${where}: layers ${m.layers} outside ${LAYERS_MIN}..${LAYERS_MAX}`);
  return m as ComputedMarker;
}

/** The computed regions of every computed BPF-KV file of the file system. */
export function computedRegions(fs: FileSystem): ComputedRegion[] {
  const regions: ComputedRegion[] = [];
  for (const inode of fs.list()) {
    if (!inode.name.endsWith(COMPUTED_MARKER_SUFFIX)) continue;
    const marker = readMarker(fs, inode);
    const dataName = inode.name.slice(0, -COMPUTED_MARKER_SUFFIX.length);
    const data = fs.lookup(dataName);
    if (data === null) throw new KvDbError(`marker '${inode.name}' in ${fs.store.path} names no file '${dataName}'`);
    const geometry = kvGeometry(marker.layers);
    if (data.sizeBytes !== geometry.fileBytes) {
      throw new KvDbError(`computed file '${dataName}' is ${data.sizeBytes} bytes, a ${marker.layers}-layer BPF-KV file is ${geometry.fileBytes}`);
    }
    regions.push(...regionsOfInode(data, new ComputedKvStore(marker.layers)));
  }
  return regions;
}

/** Machine.boot's deviceStore: the image, with the blocks of computed BPF-KV files computed on demand. */
export function kvDeviceStore(store: ImageStore, fs: FileSystem): BackingStore {
  const regions = computedRegions(fs);
  return regions.length === 0 ? store : new ComputedOverlayStore(store, regions);
}

export interface BootKvOptions {
  profile?: string | DeviceProfile;
  cores?: number;
  seed?: number;
  /** host page-cache budget of the image store */
  cacheBytes?: number;
}

function checkImage(imagePath: string): void {
  if (!existsSync(imagePath)) throw new KvDbError(`no such DB image '${imagePath}' (make one with: xrp kv create ${imagePath} --layers L)`);
  const fd = openSync(imagePath, 'r');
  try {
    const head = new Uint8Array(8);
    const n = readSync(fd, head, 0, 8, 0);
    if (n < 8 || new TextDecoder('latin1').decode(head) !== FS_MAGIC) {
      throw new KvDbError(`'${imagePath}' is not an xrpfs image (a DB is an image made by: xrp kv create DB --layers L)`);
    }
  } finally {
    closeSync(fd);
  }
}

/** Boots a machine on an existing image, with computed files wired into the device. */
export function bootKvMachine(imagePath: string, options: BootKvOptions = {}): Machine {
  checkImage(imagePath);
  return Machine.boot({
    imagePath,
    deviceStore: kvDeviceStore,
    ...(options.profile !== undefined ? { profile: options.profile } : {}),
    ...(options.cores !== undefined ? { cores: options.cores } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.cacheBytes !== undefined ? { cacheBytes: options.cacheBytes } : {}),
  });
}

export interface KvFileInfo {
  readonly name: string;
  readonly inode: Inode;
  readonly layers: number;
  readonly geometry: KvGeometry;
  readonly storage: KvStorage;
  /** untimed reads of the file as the device sees it (the user-space oracle reads through it) */
  readonly source: EmulatedFileSource;
}

/** Finds and checks a BPF-KV file of a booted machine: its size names its depth, its root must be a node. */
export function openKvFile(machine: Machine, name = KV_FILE_DEFAULT): KvFileInfo {
  const inode = machine.fs.lookup(name);
  if (inode === null) {
    const names = machine.fs.list().map((i) => i.name).join(', ') || 'none';
    throw new KvDbError(`no BPF-KV file '${name}' in ${machine.store.path} (files: ${names})`);
  }
  // the size names the depth (FILE_SIZE otherwise): the check of every mode and engine (checks.ts)
  const layers = kvLayersOfSize(name, inode.sizeBytes);
  const storage: KvStorage = machine.fs.lookup(markerName(name)) !== null ? 'computed' : 'written';
  if (storage === 'computed' && !(machine.controller.store instanceof ComputedOverlayStore)) {
    throw new KvDbError(`'${name}' is a computed file, but this machine's device does not compute it: boot it with bootKvMachine()`);
  }
  const source = new EmulatedFileSource(machine.fs, machine.controller.store, inode);
  const root = new Uint8Array(NODE_BYTES);
  source.pread(root, 0);
  checkRoot(name, inode.sizeBytes, root);
  return { name, inode, layers, geometry: kvGeometry(layers), storage, source };
}

export interface CreateKvOptions {
  layers: number;
  /** default: defaultStorage(layers) */
  storage?: KvStorage;
  fileName?: string;
  /** written storage only: the number in value slot n (default n); tests use repeated values */
  valueForSlot?: (slot: number) => number | bigint;
}

export interface CreateKvResult {
  readonly imagePath: string;
  readonly fileName: string;
  readonly layers: number;
  readonly storage: KvStorage;
  readonly geometry: KvGeometry;
  readonly imageBytes: number;
}

/**
 * Makes a fresh sparse xrpfs image at `imagePath` holding one BPF-KV file.
 * An existing xrpfs image is overwritten (like mkfs); any other existing file is refused.
 */
export async function createKvImage(imagePath: string, options: CreateKvOptions): Promise<CreateKvResult> {
  const geometry = kvGeometry(options.layers);
  const storage = options.storage ?? defaultStorage(options.layers);
  if (storage !== 'written' && storage !== 'computed') throw new KvDbError(`storage must be 'written' or 'computed', got '${String(storage)}'`);
  if (storage === 'written' && options.layers > WRITTEN_LAYERS_MAX) {
    throw new KvDbError(`a written ${options.layers}-layer file would take ${geometry.fileBytes} bytes of disk; use computed storage`);
  }
  const fileName = options.fileName ?? KV_FILE_DEFAULT;
  if (options.valueForSlot !== undefined && storage === 'computed') throw new KvDbError('valueForSlot needs written storage (a computed file holds the default values)');
  if (fileName.endsWith(COMPUTED_MARKER_SUFFIX)) throw new KvDbError(`file name '${fileName}' ends with the marker suffix '${COMPUTED_MARKER_SUFFIX}'`);
  if (existsSync(imagePath)) {
    try {
      checkImage(imagePath);
    } catch {
      throw new KvDbError(`'${imagePath}' exists and is not an xrpfs image; refusing to overwrite it`);
    }
  }
  const imageBytes = imageBytesFor(geometry.fileBytes);
  const m = Machine.boot({ imagePath, mkfsBytes: imageBytes, cacheBytes: 0 });
  try {
    const inode = m.fs.create(fileName);
    if (storage === 'written') {
      await buildKv({ write: (offsetBytes, data) => m.fs.write(inode, offsetBytes, data) }, { layers: options.layers, ...(options.valueForSlot !== undefined ? { valueForSlot: options.valueForSlot } : {}) });
    } else {
      // Allocate and mark written as an O_DIRECT write of the whole file would; the overlay supplies the bytes.
      m.fs.prepareWrite(inode, 0, geometry.fileBytes);
      m.fs.completeWrite(inode, 0, geometry.fileBytes);
      const marker: ComputedMarker = { format: 'bpf-kv', version: 1, layers: options.layers };
      m.fs.write(m.fs.create(markerName(fileName)), 0, new TextEncoder().encode(JSON.stringify(marker)));
    }
  } finally {
    m.shutdown();
  }
  return { imagePath, fileName, layers: options.layers, storage, geometry, imageBytes };
}

/** True when `path` starts with the xrpfs magic (an image), false otherwise (a missing path throws). */
export function isKvImage(path: string): boolean {
  try {
    checkImage(path);
    return true;
  } catch (error) {
    if (error instanceof KvDbError && /no such DB image/.test(error.message)) throw error;
    return false;
  }
}

/** The depth of a plain BPF-KV file on the host (the original's format), from its size; a typed error otherwise. */
export function rawKvLayers(path: string): number {
  if (!existsSync(path)) throw new KvDbError(`no such DB file '${path}'`);
  const size = statSync(path).size;
  try {
    return kvLayersOfSize(path, size);
  } catch (e) {
    if (!(e instanceof KvStructureError)) throw e;
    throw new KvStructureError('FILE_SIZE', path, size, null, `neither an xrpfs image nor a BPF-KV file (${size} bytes matches no depth ${LAYERS_MIN}..${LAYERS_MAX})`);
  }
}

/** Copies a plain BPF-KV host file into a fresh image as `fileName` (untimed management writes). */
export function importKvImage(rawPath: string, imagePath: string, fileName = KV_FILE_DEFAULT): CreateKvResult {
  const layers = rawKvLayers(rawPath);
  const geometry = kvGeometry(layers);
  if (layers > WRITTEN_LAYERS_MAX) throw new KvDbError(`'${rawPath}' has ${layers} layers; a written copy would take ${geometry.fileBytes} bytes`);
  const imageBytes = imageBytesFor(geometry.fileBytes);
  const m = Machine.boot({ imagePath, mkfsBytes: imageBytes, cacheBytes: 0 });
  const fd = openSync(rawPath, 'r');
  try {
    const inode = m.fs.create(fileName);
    const chunk = new Uint8Array(8 << 20);
    for (let done = 0; done < geometry.fileBytes; ) {
      const n = readSync(fd, chunk, 0, Math.min(chunk.length, geometry.fileBytes - done), done);
      if (n === 0) throw new KvDbError(`'${rawPath}' ended at ${done} of ${geometry.fileBytes} bytes`);
      m.fs.write(inode, done, chunk.subarray(0, n));
      done += n;
    }
  } finally {
    closeSync(fd);
    m.shutdown();
  }
  return { imagePath, fileName, layers, storage: 'written', geometry, imageBytes };
}
