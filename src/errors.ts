export type ErrorCode =
  | 'invalid_argument'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'unauthorized'
  | 'forbidden'
  | 'unknown_tool'
  | 'run_not_found'
  | 'not_found'
  | 'method_not_allowed'
  | 'run_ended'
  | 'run_already_ended'
  | 'idempotency_key_reused'
  | 'rate_limited'
  | 'budget_exceeded'
  | 'backpressure'
  | 'internal';

export const HTTP_STATUS: Record<ErrorCode, number> = {
  invalid_argument: 400,
  unsupported_media_type: 415,
  payload_too_large: 413,
  unauthorized: 401,
  forbidden: 403,
  unknown_tool: 404,
  run_not_found: 404,
  not_found: 404,
  method_not_allowed: 405,
  run_ended: 409,
  run_already_ended: 409,
  idempotency_key_reused: 422,
  rate_limited: 429,
  budget_exceeded: 429,
  backpressure: 503,
  internal: 500,
};

export interface ErrorDetail {
  path: string;
  message: string;
  limit?: number | string;
}

/** A domain error with a stable code; transports map it to a response in exactly one place each. */
export class BridgeError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
    /** Seconds a client should wait before retrying (429/503). */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'BridgeError';
  }

  get status(): number {
    return HTTP_STATUS[this.code];
  }

  toBody(): { error: { code: ErrorCode; message: string; details?: ErrorDetail[] } } {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }
}

export const runNotFound = (runId: string) => new BridgeError('run_not_found', `run ${runId} not found`);
