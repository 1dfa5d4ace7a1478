import { isRetryable, OprelayError, type BridgeErrorCode, type ErrorDetail } from './errors.js';

export interface TransportOptions {
  /** the bridge's base URL, e.g. http://127.0.0.1:8787 */
  url: string;
  /** sent as `Authorization: Bearer <apiKey>` */
  apiKey?: string;
  fetch?: typeof fetch;
  /** retries after the first attempt (default 4) */
  maxRetries?: number;
  /** first backoff step in ms, doubled per retry (default 200) */
  retryBaseMs?: number;
  /** longest wait between attempts in ms, Retry-After included (default 30 000) */
  maxRetryDelayMs?: number;
  /** per-attempt timeout in ms (default 30 000); a timed-out attempt is retried like a connection error */
  timeoutMs?: number;
}

/** Sends one request, retrying it (same headers, so the same Idempotency-Key) while retrying can help. */
export type Send = (path: string, init: RequestInit) => Promise<unknown>;

interface ErrorBody {
  error?: { code?: string; message?: string; details?: ErrorDetail[] };
}

function retryAfterSeconds(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, (at - Date.now()) / 1000) : undefined;
}

async function errorFrom(res: Response): Promise<OprelayError> {
  const retryAfter = retryAfterSeconds(res.headers.get('retry-after'));
  const text = await res.text().catch(() => '');
  let body: ErrorBody = {};
  try {
    body = JSON.parse(text) as ErrorBody;
  } catch {
    /* not JSON: a proxy's error page */
  }
  const e = body.error;
  if (e?.code && e.message) return new OprelayError(e.code as BridgeErrorCode, e.message, res.status, e.details, retryAfter);
  return new OprelayError(
    'invalid_response',
    `HTTP ${res.status}: ${text.slice(0, 200) || res.statusText}`,
    res.status,
    undefined,
    retryAfter,
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createTransport(options: TransportOptions): { send: Send; auth: Record<string, string> } {
  const base = options.url.replace(/\/+$/, '');
  const doFetch = options.fetch ?? globalThis.fetch;
  const maxRetries = options.maxRetries ?? 4;
  const retryBaseMs = options.retryBaseMs ?? 200;
  const maxDelayMs = options.maxRetryDelayMs ?? 30_000;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const auth: Record<string, string> = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {};

  async function attempt(path: string, init: RequestInit): Promise<unknown> {
    let res: Response;
    try {
      res = await doFetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new OprelayError('connection_failed', `cannot reach ${base}: ${err instanceof Error ? err.message : String(err)}`, 0);
    }
    if (!res.ok) throw await errorFrom(res);
    try {
      return await res.json();
    } catch {
      throw new OprelayError('invalid_response', `HTTP ${res.status}: the answer is not JSON`, res.status);
    }
  }

  async function send(path: string, init: RequestInit): Promise<unknown> {
    for (let n = 0; ; n++) {
      try {
        return await attempt(path, init);
      } catch (err) {
        if (!isRetryable(err) || n >= maxRetries) throw err;
        const backoff = retryBaseMs * 2 ** n * (0.5 + Math.random() / 2);
        const retryAfter = err instanceof OprelayError ? (err.retryAfter ?? 0) : 0;
        await sleep(Math.min(maxDelayMs, Math.max(backoff, retryAfter * 1000)));
      }
    }
  }

  return { send, auth };
}
