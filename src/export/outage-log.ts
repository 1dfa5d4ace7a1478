import type { Logger } from '../log.js';

/** Network errors a collector that is down or restarting produces: their stack says nothing. */
const EXPECTED_NETWORK_ERROR =
  /ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EPIPE|UND_ERR_\w+|socket hang up|fetch failed|bad port|timed out|no answer within/i;

/**
 * One line for an error: its message (and the code of its cause), never a stack for an expected
 * network error. Anything else keeps its first stack frame, which says where it came from.
 */
export function errorText(error: unknown): string {
  if (!(error instanceof Error)) {
    if (error && typeof error === 'object' && 'message' in error) return String((error as { message: unknown }).message);
    return String(error);
  }
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  const code = (error as { code?: unknown }).code ?? cause?.code;
  const text = code !== undefined && !error.message.includes(String(code)) ? `${error.message} (${String(code)})` : error.message;
  if (EXPECTED_NETWORK_ERROR.test(text)) return text;
  const frame = error.stack?.split('\n').find((l) => l.trimStart().startsWith('at '));
  return frame ? `${text} ${frame.trim()}` : text;
}

export interface OutageLogOptions {
  log: Logger;
  /** what is exported: `traces` or `metrics`, in every line */
  signal: 'traces' | 'metrics';
  /** spans waiting in the outbox, when the signal has one */
  outboxDepth?: () => number;
  now?: () => number;
}

/**
 * Collapses repeated export failures: the first failed attempt of an outage is one warning (its
 * error, the attempts so far, the outbox depth), later attempts are debug lines, and the first
 * success after it is one info line with the count of failed attempts and how long it lasted.
 */
export class OutageLog {
  private failedAttempts = 0;
  private since: number | undefined;
  private readonly now: () => number;

  constructor(private readonly options: OutageLogOptions) {
    this.now = options.now ?? Date.now;
  }

  get failing(): boolean {
    return this.since !== undefined;
  }

  /** A failed attempt; `fields` are the attempt's details (status, retry_in_ms, …). */
  failed(error: unknown, fields: Record<string, unknown> = {}): void {
    this.failedAttempts++;
    const line = { signal: this.options.signal, error: errorText(error), ...fields };
    if (this.since !== undefined) {
      this.options.log.debug('export failed, will retry', { ...line, failed_attempts: this.failedAttempts });
      return;
    }
    this.since = this.now();
    const depth = this.options.outboxDepth?.();
    this.options.log.debug('export failed, will retry', { ...line, failed_attempts: this.failedAttempts });
    this.options.log.warn(
      this.options.signal === 'traces'
        ? 'export failing: spans wait in the outbox and are retried; one line follows when delivery resumes'
        : 'metrics export failing: retried every interval; one line follows when it resumes',
      { ...line, failed_attempts: this.failedAttempts, ...(depth !== undefined ? { outbox_depth: depth } : {}) },
    );
  }

  /** A delivered export: ends the outage, if there was one, with one line. */
  delivered(fields: Record<string, unknown> = {}): void {
    if (this.since === undefined) return;
    const depth = this.options.outboxDepth?.();
    this.options.log.info(this.options.signal === 'traces' ? 'export resumed' : 'metrics export resumed', {
      signal: this.options.signal,
      failed_attempts: this.failedAttempts,
      outage_ms: this.now() - this.since,
      ...(depth !== undefined ? { outbox_depth: depth } : {}),
      ...fields,
    });
    this.since = undefined;
    this.failedAttempts = 0;
  }
}
