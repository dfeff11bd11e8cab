// Typed errors of the device layer: bad configuration, bad image, host misuse of
// a queue (a full ring, an unknown command id). Bad commands are NOT errors: the
// controller completes them with an NVMe status code, as real hardware does.

import { XrpError } from '../base/errors.ts';

export class DeviceError extends XrpError {
  constructor(message: string) {
    super('DEVICE', message);
  }
}
