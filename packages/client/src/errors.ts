/** The codes the bridge answers with (its error table); the client test checks this list against the bridge's. */
export const BRIDGE_ERROR_CODES = [
  'invalid_argument',
  'unsupported_media_type',
  'payload_too_large',
  'unauthorized',
  'forbidden',
  'unknown_tool',
  'run_not_found',
  'not_found',
  'method_not_allowed',
  'run_ended',
  'run_already_ended',
  'idempotency_key_reused',
  'rate_limited',
  'budget_exceeded',
  'backpressure',
  'internal',
] as const;

export type BridgeErrorCode = (typeof BRIDGE_ERROR_CODES)[number];

/** Codes the bridge answers with, plus the client's own for failures before or around HTTP. */
export type ClientErrorCode = BridgeErrorCode | 'connection_failed' | 'invalid_response';

/** One problem with the arguments: the field's path, what is wrong, and the limit when one applies. */
export interface ErrorDetail {
  path: string;
  message: string;
  limit?: number | string;
}

/** A failed call: the bridge's error code, HTTP status (0 when no response arrived) and details. */
export class OprelayError extends Error {
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    readonly status: number,
    readonly details?: ErrorDetail[],
    /** seconds the bridge asked to wait (429/503) */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'OprelayError';
  }
}

/** 503 (backpressure, draining, proxies), per-key rate limits and lost connections are worth retrying; a spent budget is not. */
export function isRetryable(err: unknown): boolean {
  if (!(err instanceof OprelayError)) return false;
  return err.status === 0 || err.status === 503 || (err.status === 429 && err.code === 'rate_limited');
}
