// XRP in the emulated kernel (issue 6): program loading, read_xrp and
// IORING_OP_READ_XRP, the NVMe completion hook, statuses and the user-space
// fallback. Import from here.

export {
  CTX_BYTES, DEFAULT_XRP_COSTS, installXrp, XRP_MAX_FANOUT, XRP_RESUBMIT_LIMIT_DEFAULT, XRP_RESUBMIT_LIMIT_MAX, XrpConfigError, xrpConfig,
  type XrpConfig, type XrpCosts, type XrpFanoutMode, type XrpOptions,
} from './config.ts';
export { bpfProgLoad, loadXrpProgramFile, programOf, XrpProgLoadError, XrpProgram, type ProgLoadAttr, type ProgLoadResult } from './prog-load.ts';
export { checkReadXrp, IORING_OP_READ_XRP, readXrp, xrpResultOfCqe, type XrpCallOptions } from './read-xrp.ts';
export { XrpCommand, XrpRequest } from './hook.ts';
export { isResumable, XrpResult, XrpStatus, xrpStatusName, type XrpEnd, type XrpRead, type XrpStatusCode } from './status.ts';
export { readXrpOrFallback, xrpFallback, type XrpAnswer, type XrpCall, type XrpFallbackOptions, type XrpFallbackResult } from './fallback.ts';
