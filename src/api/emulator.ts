// `xrp-ts/emulator`: the XRP storage stack emulated in virtual time: the machine
// (cores, NVMe device, file system, kernel) and XRP's read_xrp, its statuses and
// the user-space fallback. Only re-exports: the definitions live in src/kernel/.

export { Machine, type MachineOptions } from '../kernel/machine.ts';
export { DEVICE_PROFILES } from '../device/profiles.ts';
export {
  bpfProgLoad, loadXrpProgramFile, readXrp, readXrpOrFallback, xrpFallback, XrpResult, XrpStatus, xrpStatusName,
  XRP_MAX_FANOUT, XRP_RESUBMIT_LIMIT_DEFAULT,
  type XrpCallOptions, type XrpAnswer, type XrpStatusCode,
} from '../kernel/xrp/index.ts';
