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

/**
 * One POST per export and no retries of its own: the outbox relay owns retries (with the
 * collector's Retry-After), so a refusal comes back at once with its status, body and delay.
 */
export class CollectorTransport implements IExporterTransport {
  constructor(private readonly options: CollectorTransportOptions) {}

  async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    let res: Response;
    try {
      res = await fetch(this.options.url, {
        method: 'POST',
        headers: { ...this.options.headers, 'content-type': this.options.contentType },
        body: data as Uint8Array<ArrayBuffer>,
        signal: AbortSignal.timeout(timeoutMillis),
      });
    } catch (err) {
      const timedOut = err instanceof Error && err.name === 'TimeoutError';
      const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
      const message = timedOut ? `no answer within ${timeoutMillis} ms (OTEL_EXPORTER_OTLP_TIMEOUT)` : `${String(err)}${cause}`;
      return { status: 'retryable', error: new Error(message) };
    }
    const body = new Uint8Array(await res.arrayBuffer().catch(() => new ArrayBuffer(0)));
    if (res.ok) return { status: 'success', data: body };
    const protobuf = (res.headers.get('content-type') ?? '').includes('protobuf');
    const text = (protobuf && protobufStatusMessage(body)) || Buffer.from(body).toString('utf8');
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
    const error = new CollectorRefusal(res.status, res.statusText, text, retryAfterMs);
    return RETRYABLE.has(res.status) ? { status: 'retryable', retryInMillis: retryAfterMs, error } : { status: 'failure', error };
  }

  shutdown(): void {}
}
