import http from 'node:http';
import https from 'node:https';
import { OTLPExporterError, type ExportResponse, type IExporterTransport } from '@opentelemetry/otlp-exporter-base';

/** What a collector said when it refused a batch: its status, its own message, and when to come back. */
export class CollectorRefusal extends OTLPExporterError {
  /** the collector's message, else the HTTP reason phrase */
  readonly detail: string;

  constructor(
    status: number,
    statusText: string,
    body: string,
    readonly retryAfterMs: number | undefined,
  ) {
    const detail = collectorMessage(body) ?? (statusText || 'no reason given');
    super(`HTTP ${status}: ${detail}`, status, body);
    this.detail = detail;
  }
}

/** HTTP statuses worth another attempt (the OTLP/HTTP specification's list). */
const RETRYABLE = new Set([429, 502, 503, 504]);
const MAX_BODY_CHARS = 2_000;

/**
 * The collector's own words: the `message` of an OTLP `Status` body (`{"code":3,"message":…}`),
 * else the body's text, shortened; undefined for an empty body.
 */
export function collectorMessage(body: string): string | undefined {
  const text = body.trim();
  if (!text) return undefined;
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string' && parsed.message) return parsed.message.slice(0, MAX_BODY_CHARS);
  } catch {
    /* not JSON: the text itself */
  }
  return text.slice(0, MAX_BODY_CHARS);
}

/**
 * The `message` (field 2) of a protobuf `google.rpc.Status`, the body a collector answers a
 * refused OTLP/HTTP protobuf request with; undefined when the body is not one.
 */
export function protobufStatusMessage(body: Uint8Array): string | undefined {
  let pos = 0;
  const varint = (): number | undefined => {
    let value = 0;
    for (let shift = 0; shift < 70 && pos < body.length; shift += 7) {
      const b = body[pos++]!;
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
    }
    return undefined;
  };
  let message: string | undefined;
  while (pos < body.length) {
    const tag = varint();
    if (tag === undefined) return undefined;
    const wire = tag & 7;
    if (wire === 0) {
      if (varint() === undefined) return undefined;
    } else if (wire === 2) {
      const length = varint();
      if (length === undefined || pos + length > body.length) return undefined;
      if (tag >>> 3 === 2) message = Buffer.from(body.subarray(pos, pos + length)).toString('utf8');
      pos += length;
    } else return undefined; // google.rpc.Status has varint and length-delimited fields only
  }
  return message || undefined;
}

/** `Retry-After` as delay-seconds or an HTTP date, in ms from now; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

export interface CollectorTransportOptions {
  url: string;
  contentType: string;
  headers: Record<string, string>;
}

/** How long a kept-alive connection to the collector may sit idle. */
const IDLE_SOCKET_MS = 4_000;
/** Redirects (307/308, same origin) followed for one export at most. */
const MAX_REDIRECTS = 5;

interface Answer {
  status: number;
  statusText: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * One POST per export and no retries of its own: the outbox relay owns retries (with the
 * collector's Retry-After), so a refusal comes back at once with its status, body and delay.
 * Sent with node:http(s) over kept-alive connections, which costs less CPU than `fetch` (bench/README.md,
 * "The collector transport"). A 307 or 308 to the same origin is followed with the same body; any other
 * redirect is a refusal naming its target, so headers such as API keys never go to another host.
 */
export class CollectorTransport implements IExporterTransport {
  private readonly url: URL;
  private readonly agent: http.Agent;

  constructor(private readonly options: CollectorTransportOptions) {
    this.url = new URL(options.url);
    // an idle connection is closed before common server idle timeouts (5 s) can close it under a request
    const agent = { keepAlive: true, timeout: IDLE_SOCKET_MS };
    this.agent = this.url.protocol === 'https:' ? new https.Agent(agent) : new http.Agent(agent);
  }

  async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    const deadline = Date.now() + timeoutMillis;
    let url = this.url;
    for (let hop = 0; ; hop++) {
      let res: Answer;
      try {
        res = await this.post(url, data, deadline);
      } catch (err) {
        const message = err instanceof ExportTimeout ? `no answer within ${timeoutMillis} ms (OTEL_EXPORTER_OTLP_TIMEOUT)` : String(err);
        return { status: 'retryable', error: new Error(message) };
      }
      if (res.status >= 200 && res.status < 300) return { status: 'success', data: res.body };
      const location = res.status >= 300 && res.status < 400 ? header(res.headers, 'location') : undefined;
      const target = location === undefined ? undefined : new URL(location, url);
      if (target && (res.status === 307 || res.status === 308) && target.origin === this.url.origin && hop < MAX_REDIRECTS) {
        url = target;
        continue;
      }
      return refusal(res, target);
    }
  }

  /**
   * One POST. A kept-alive connection the collector closed just as it was reused fails before any
   * answer (ECONNRESET on a reused socket): nothing was received, so it is sent once more at once.
   */
  private async post(url: URL, data: Uint8Array, deadline: number): Promise<Answer> {
    try {
      return await this.postOnce(url, data, deadline);
    } catch (err) {
      if (!(err instanceof ReusedSocketReset)) throw err;
      return this.postOnce(url, data, deadline);
    }
  }

  private postOnce(url: URL, data: Uint8Array, deadline: number): Promise<Answer> {
    return new Promise((resolve, reject) => {
      let answered = false;
      const request = (url.protocol === 'https:' ? https : http).request(
        url,
        {
          method: 'POST',
          agent: this.agent,
          headers: { ...this.options.headers, 'content-type': this.options.contentType, 'content-length': data.byteLength },
        },
        (res) => {
          answered = true;
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', (err) => {
            clearTimeout(timer);
            reject(err);
          });
          res.on('end', () => {
            clearTimeout(timer);
            resolve({
              status: res.statusCode ?? 0,
              statusText: res.statusMessage ?? '',
              headers: res.headers,
              body: Buffer.concat(chunks),
            });
          });
        },
      );
      const timer = setTimeout(() => request.destroy(new ExportTimeout()), Math.max(1, deadline - Date.now()));
      request.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const stale = !answered && request.reusedSocket && err.code === 'ECONNRESET';
        reject(stale ? new ReusedSocketReset(err.message) : err);
      });
      request.end(data);
    });
  }

  shutdown(): void {
    this.agent.destroy();
  }
}

class ExportTimeout extends Error {}
class ReusedSocketReset extends Error {}

function header(headers: http.IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** A collector's refusal: retryable for the OTLP/HTTP list of statuses, else final. */
function refusal(res: Answer, redirectedTo: URL | undefined): ExportResponse {
  const protobuf = (header(res.headers, 'content-type') ?? '').includes('protobuf');
  let text = (protobuf && protobufStatusMessage(res.body)) || res.body.toString('utf8');
  if (redirectedTo) text = `redirected to ${redirectedTo.href}, not followed: set the OTLP endpoint to it`;
  const retryAfterMs = parseRetryAfter(header(res.headers, 'retry-after') ?? null);
  const error = new CollectorRefusal(res.status, res.statusText, text, retryAfterMs);
  return RETRYABLE.has(res.status) ? { status: 'retryable', retryInMillis: retryAfterMs, error } : { status: 'failure', error };
}
