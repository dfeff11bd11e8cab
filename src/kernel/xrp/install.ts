// Installing XRP in a kernel: its configuration (config.ts) and the io_uring
// opcode IORING_OP_READ_XRP (read-xrp.ts). An explicit call, made by
// BPF_PROG_LOAD of a storage function and by whoever configures XRP.

import type { Kernel } from '../kernel.ts';
import { configureXrp, type XrpConfig, type XrpOptions } from './config.ts';
import { IORING_OP_READ_XRP, ReadXrpOp } from './read-xrp.ts';

/**
 * Installs XRP in `kernel` (idempotent): registers IORING_OP_READ_XRP and
 * returns the kernel's mutable XRP configuration, updated with `options`.
 */
export function installXrp(kernel: Kernel, options: XrpOptions = {}): XrpConfig {
  if (kernel.ioUringOp(IORING_OP_READ_XRP) === null) kernel.registerIoUringOp(IORING_OP_READ_XRP, new ReadXrpOp());
  return configureXrp(kernel, options);
}
