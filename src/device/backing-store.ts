// What the controller moves bytes to and from. The standard one is ImageStore
// (a real image file); anything with the same two positioned operations works
// (for example a computed, read-only image of a huge BPF-KV file). A store throws
// DeviceError for a bad range; the controller turns that into an NVMe status.

export interface BackingStore {
  /** Size in bytes (a multiple of 512). */
  readonly sizeBytes: number;
  read(offsetBytes: number, dst: Uint8Array, dstOffset: number, length: number): void;
  write(offsetBytes: number, src: Uint8Array, srcOffset: number, length: number): void;
}
