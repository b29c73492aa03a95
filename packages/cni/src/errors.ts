/**
 * CNI's error result (SPEC.md, section 5 "Error"): a numeric code, a short
 * `msg`, longer `details`. Codes 0-99 are the spec's; 100+ are ours.
 */
import { ContainetError } from '@containet/common';

export const CNI_ERR = {
  /** Incompatible CNI version. */
  INCOMPATIBLE_VERSION: 1,
  /** Unsupported field in network configuration (message names key and value). */
  UNSUPPORTED_FIELD: 2,
  /** Container unknown or does not exist: no clean-up is needed. */
  UNKNOWN_CONTAINER: 3,
  /** Invalid necessary environment variables (message names them). */
  INVALID_ENVIRONMENT: 4,
  /** I/O failure, e.g. reading the config from stdin. */
  IO_FAILURE: 5,
  /** Failed to decode content. */
  DECODING_FAILURE: 6,
  /** Invalid network config. */
  INVALID_NETWORK_CONFIG: 7,
  /** Try again later (a transient condition). */
  TRY_AGAIN_LATER: 11,
  /** The plugin is not available: it cannot service ADD requests. */
  NOT_AVAILABLE: 50,
  /** Not available, and existing containers may have limited connectivity. */
  NOT_AVAILABLE_LIMITED: 51,
  /** ours: making the interface in the container's namespace failed. */
  INTERFACE: 100,
  /** ours: the switch refused or lost the port. */
  SWITCH_PORT: 101,
  /** ours: CHECK found the attachment differing from what ADD made. */
  CHECK_FAILED: 102,
  /** ours: a delegated (IPAM) plugin failed without a CNI error of its own. */
  DELEGATE: 103,
} as const;

export interface CniErrorResult {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

export class CniError extends Error {
  readonly code: number;
  readonly details: string | undefined;

  constructor(code: number, msg: string, details?: string, cause?: unknown) {
    super(msg, cause === undefined ? undefined : { cause });
    this.name = 'CniError';
    this.code = code;
    this.details = details;
  }

  toResult(cniVersion: string): CniErrorResult {
    return { cniVersion, code: this.code, msg: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

/** A switch error as CNI's: unreachable means not available, the rest is the port's. */
export function fromSwitchError(err: unknown, socket: string): CniError {
  if (err instanceof CniError) return err;
  if (err instanceof ContainetError) {
    const details = `${err.code}: ${err.message}${err.hint ? ` (${err.hint})` : ''}`;
    if (err.code === 'CN_SWITCH_UNREACHABLE' || err.code === 'CN_PERMISSION')
      return new CniError(CNI_ERR.NOT_AVAILABLE, `no containet switch answers at ${socket}`, details, err);
    if (err.code.startsWith('CN_PROTO') || err.code === 'CN_SWITCH_TIMEOUT' || err.code === 'CN_SWITCH_GONE')
      return new CniError(CNI_ERR.INVALID_NETWORK_CONFIG, `${socket} is not a containet switch (it did not answer the control protocol's hello)`, details, err);
    return new CniError(CNI_ERR.SWITCH_PORT, `the containet switch at ${socket} refused the request`, details, err);
  }
  const e = err as Error;
  return new CniError(CNI_ERR.SWITCH_PORT, `talking to the containet switch at ${socket} failed`, e?.message ?? String(err), err);
}
