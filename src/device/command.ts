// NVMe command and completion entries (the parts of the 64-byte SQE / 16-byte
// CQE this model uses), opcodes and status codes of the NVM command set.

export const LOGICAL_BLOCK_BYTES = 512;

/** NVM command set opcodes. */
export const NVME_OP_WRITE = 0x01;
export const NVME_OP_READ = 0x02;

/** Generic command status codes (status code type 0). */
export const NVME_SC_SUCCESS = 0x00;
export const NVME_SC_INVALID_OPCODE = 0x01;
export const NVME_SC_INVALID_FIELD = 0x02;
export const NVME_SC_DATA_TRANSFER_ERROR = 0x04;
export const NVME_SC_LBA_OUT_OF_RANGE = 0x80;
/** Media error (status code type 2) 0x81, Unrecovered Read Error, as (type << 8) | code. */
export const NVME_SC_UNRECOVERED_READ_ERROR = 0x281;

export function nvmeStatusName(status: number): string {
  switch (status) {
    case NVME_SC_SUCCESS: return 'SUCCESS';
    case NVME_SC_INVALID_OPCODE: return 'INVALID_OPCODE';
    case NVME_SC_INVALID_FIELD: return 'INVALID_FIELD';
    case NVME_SC_DATA_TRANSFER_ERROR: return 'DATA_TRANSFER_ERROR';
    case NVME_SC_LBA_OUT_OF_RANGE: return 'LBA_OUT_OF_RANGE';
    case NVME_SC_UNRECOVERED_READ_ERROR: return 'UNRECOVERED_READ_ERROR';
    default: return `STATUS_0x${status.toString(16)}`;
  }
}

/** A submission queue entry. Slots are owned by the host and reused by command id. */
export class NvmeCommand {
  opcode = NVME_OP_READ;
  /** Namespace id (one namespace, id 1). */
  nsid = 1;
  /** Starting LBA (512-byte logical blocks). */
  slba = 0;
  /** Number of logical blocks, ZERO-BASED as in the NVMe spec (0 means one block). */
  nlb = 0;
  /** Data buffer (stands for the PRP list) and the offset of the data in it. */
  buf: Uint8Array = new Uint8Array(0);
  bufOffset = 0;
  /** Host-private pointer (the driver's request), like blk-mq's request behind a tag. */
  host: unknown = null;

  constructor(readonly cid: number) {}

  get blockCount(): number {
    return this.nlb + 1;
  }
}

/** A completion queue entry. */
export class NvmeCompletion {
  cid = 0;
  status = 0;
  /** Submission queue head pointer at the time of completion. */
  sqHead = 0;
  sqId = 0;
  /** Phase tag: flips each time the device wraps the completion ring. */
  phase = 0;
}
