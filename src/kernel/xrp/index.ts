// XRP in the emulated kernel: program loading, read_xrp and
// IORING_OP_READ_XRP, the NVMe completion hook, statuses and the user-space
// fallback. Import from here.

export {
  DEFAULT_XRP_COSTS, XrpConfigError, xrpConfig, type XrpConfig, type XrpCosts, type XrpFanoutMode, type XrpOptions,
} from './config.ts';
export { CTX_BYTES, XRP_MAX_FANOUT } from '../../xrp/layout.ts';
export { XRP_RESUBMIT_LIMIT_DEFAULT, XRP_RESUBMIT_LIMIT_MAX } from '../../xrp/limits.ts';
export { installXrp } from './install.ts';
export { bpfProgLoad, loadXrpProgramFile, XrpProgLoadError, type ProgLoadAttr, type ProgLoadResult } from './prog-load.ts';
export { programOf, XrpProgram } from './program.ts';
export { checkReadXrp, IORING_OP_READ_XRP, readXrp, xrpResultOfCqe, type XrpCallOptions } from './read-xrp.ts';
export { XrpCommand, XrpRequest } from './hook.ts';
export { XrpResult } from './result.ts';
export { isResumable, XrpStatus, xrpStatusName, type XrpEnd, type XrpRead, type XrpStatusCode } from '../../xrp/status.ts';
export { readXrpOrFallback, xrpFallback, type XrpAnswer, type XrpCall, type XrpFallbackOptions, type XrpFallbackResult } from './fallback.ts';
