import { randomUUID } from 'node:crypto';
import type { ErrorCode, ErrorDetail } from './errors.js';
import { runViewSchema, toolResultSchemas, type RunViewResult, type ToolResult } from './tools/results.js';
import type { ToolInput, ToolName } from './tools/schemas.js';

export type { ToolInput, ToolName } from './tools/schemas.js';
export type { RunViewResult, ToolResult, Totals } from './tools/results.js';

export interface ClientOptions {
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

/** Codes the bridge answers with, plus the client's own for failures before or around HTTP. */
export type ClientErrorCode = ErrorCode | 'connection_failed' | 'invalid_response';

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

export interface OprelayClient {
  /** Calls a tool; `core_start_run` gets a generated `run_id` when none is given. */
  call<T extends ToolName>(name: T, args: ToolInput<T>): Promise<ToolResult<T>>;
  /** `GET /v1/runs/{run_id}`: status, totals, timestamps and trace identity. */
  getRun(runId: string): Promise<RunViewResult>;
}

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
  if (e?.code && e.message) return new OprelayError(e.code as ErrorCode, e.message, res.status, e.details, retryAfter);
  return new OprelayError('invalid_response', `HTTP ${res.status}: ${text.slice(0, 200) || res.statusText}`, res.status, undefined, retryAfter);
}

/** 503 (backpressure, draining, proxies) and per-key rate limits are worth retrying; a spent budget is not. */
function retryable(err: OprelayError): boolean {
  return err.status === 0 || err.status === 503 || (err.status === 429 && err.code === 'rate_limited');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A typed client for the bridge's HTTP JSON API; every call carries an Idempotency-Key so its retries are safe. */
export function createClient(options: ClientOptions): OprelayClient {
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

  /** The same request (same Idempotency-Key) until it succeeds, fails for good, or retries run out. */
  async function send(path: string, init: RequestInit): Promise<unknown> {
    for (let n = 0; ; n++) {
      try {
        return await attempt(path, init);
      } catch (err) {
        if (!(err instanceof OprelayError) || !retryable(err) || n >= maxRetries) throw err;
        const backoff = retryBaseMs * 2 ** n * (0.5 + Math.random() / 2);
        await sleep(Math.min(maxDelayMs, Math.max(backoff, (err.retryAfter ?? 0) * 1000)));
      }
    }
  }

  function checked<R>(value: unknown, schema: { safeParse(v: unknown): { success: boolean } }, what: string): R {
    if (!schema.safeParse(value).success) throw new OprelayError('invalid_response', `${what}: the answer does not match its schema`, 200);
    return value as R;
  }

  return {
    async call<T extends ToolName>(name: T, args: ToolInput<T>): Promise<ToolResult<T>> {
      const body: Record<string, unknown> = { ...(args as Record<string, unknown>) };
      if (name === 'core_start_run' && body.run_id === undefined) body.run_id = randomUUID();
      const answer = (await send(`/v1/tools/${encodeURIComponent(name)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID(), ...auth },
        body: JSON.stringify(body),
      })) as { result?: unknown };
      return checked<ToolResult<T>>(answer.result, toolResultSchemas[name], name);
    },
    async getRun(runId: string): Promise<RunViewResult> {
      const answer = await send(`/v1/runs/${encodeURIComponent(runId)}`, { method: 'GET', headers: { ...auth } });
      return checked<RunViewResult>(answer, runViewSchema, 'getRun');
    },
  };
}
