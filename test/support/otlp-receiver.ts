import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import protobuf from 'protobufjs';
import { OTLP_TRACE_PROTO } from './otlp-proto.js';

/** A real OTLP/HTTP trace receiver on 127.0.0.1 that decodes what exporters send (JSON and protobuf). */

const root = protobuf.parse(OTLP_TRACE_PROTO, { keepCase: false }).root;
const ExportRequest = root.lookupType('otlp.ExportTraceServiceRequest');
const ExportResponse = root.lookupType('otlp.ExportTraceServiceResponse');
/** google.rpc.Status, the body of a refusal in OTLP/HTTP protobuf (details left out) */
const RpcStatus = protobuf
  .parse('syntax = "proto3"; message RpcStatus { int32 code = 1; string message = 2; }')
  .root.lookupType('RpcStatus');

export type Value = string | number | boolean | Value[] | null;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startMs: number;
  endMs: number;
  attributes: Record<string, Value>;
  events: { name: string; timeMs: number; attributes: Record<string, Value> }[];
  links: { traceId: string; spanId: string; attributes: Record<string, Value> }[];
  status: { code: number; message?: string };
  droppedAttributesCount: number;
  droppedEventsCount: number;
  resource: Record<string, Value>;
  scope: string;
  /** the schema URLs of the resource and the scope ('' when none) */
  resourceSchemaUrl: string;
  scopeSchemaUrl: string;
  /** Date.now() when the request carrying it was accepted */
  receivedAtMs: number;
}

type Mode =
  | { kind: 'ok' }
  | { kind: 'status'; code: number; retryAfter?: number }
  | { kind: 'partial'; rejected: number; message: string }
  | { kind: 'hang' }
  /** answers 413 to requests carrying more than max spans */
  | { kind: 'max_spans'; max: number };

/* eslint-disable @typescript-eslint/no-explicit-any */
function anyValue(v: any): Value {
  if (!v) return null;
  const get = (camel: string, snake: string) => v[camel] ?? v[snake];
  if (get('stringValue', 'string_value') !== undefined) return get('stringValue', 'string_value');
  if (get('boolValue', 'bool_value') !== undefined) return get('boolValue', 'bool_value');
  if (get('intValue', 'int_value') !== undefined) return Number(get('intValue', 'int_value'));
  if (get('doubleValue', 'double_value') !== undefined) return Number(get('doubleValue', 'double_value'));
  const arr = get('arrayValue', 'array_value');
  if (arr) return (arr.values ?? []).map(anyValue);
  return null;
}

function attrs(list: any[] | undefined): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const kv of list ?? []) out[kv.key] = anyValue(kv.value);
  return out;
}

function hex(v: any): string {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v === 'string') return v.toLowerCase();
  return Buffer.from(v as Uint8Array).toString('hex');
}

const nanosToMs = (v: any) => Number(BigInt(String(v ?? 0)) / 1000n) / 1000;

function flatten(req: any): Omit<ReceivedSpan, 'receivedAtMs'>[] {
  const out: Omit<ReceivedSpan, 'receivedAtMs'>[] = [];
  for (const rs of req.resourceSpans ?? req.resource_spans ?? []) {
    const resource = attrs(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? rs.scope_spans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          name: s.name,
          kind: s.kind ?? 0,
          startMs: nanosToMs(s.startTimeUnixNano),
          endMs: nanosToMs(s.endTimeUnixNano),
          attributes: attrs(s.attributes),
          events: (s.events ?? []).map((e: any) => ({ name: e.name, timeMs: nanosToMs(e.timeUnixNano), attributes: attrs(e.attributes) })),
          links: (s.links ?? []).map((l: any) => ({ traceId: hex(l.traceId), spanId: hex(l.spanId), attributes: attrs(l.attributes) })),
          status: { code: s.status?.code ?? 0, ...(s.status?.message ? { message: s.status.message } : {}) },
          droppedAttributesCount: s.droppedAttributesCount ?? 0,
          droppedEventsCount: s.droppedEventsCount ?? 0,
          resource,
          scope: ss.scope?.name ?? '',
          resourceSchemaUrl: rs.schemaUrl ?? rs.schema_url ?? '',
          scopeSchemaUrl: ss.schemaUrl ?? ss.schema_url ?? '',
        });
      }
    }
  }
  return out;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/** A refusal as a collector words it: a `Status` ({code, message}) in the request's encoding. */
function refuse(res: ServerResponse, protobufRequest: boolean, code: number, message: string, retryAfter?: number): void {
  const retry = retryAfter ? { 'retry-after': String(retryAfter) } : {};
  if (protobufRequest)
    res
      .writeHead(code, { 'content-type': 'application/x-protobuf', ...retry })
      .end(RpcStatus.encode(RpcStatus.fromObject({ code, message })).finish());
  else res.writeHead(code, { 'content-type': 'application/json', ...retry }).end(JSON.stringify({ code, message }));
}

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** every request seen, with the answer given */
  readonly requests: { contentType: string; spans: number; answered: number }[] = [];
  /** the headers of every request to /v1/traces */
  readonly headers: IncomingMessage['headers'][] = [];
  /** every request to /v1/metrics (answered 200, not decoded) */
  readonly metricsRequests: { contentType: string; body: Buffer }[] = [];
  private server: Server;
  private sockets = new Set<Socket>();
  private mode: Mode = { kind: 'ok' };
  port = 0;

  constructor() {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** Stops listening (connections are then refused) and drops open connections. */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  answer(mode: Mode): void {
    this.mode = mode;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const contentType = req.headers['content-type'] ?? '';
    const protobufRequest = contentType.includes('protobuf');
    if (req.url === '/v1/metrics') {
      this.metricsRequests.push({ contentType, body });
      // an empty ExportMetricsServiceResponse, in the request's encoding
      if (protobufRequest) res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    if (req.url !== '/v1/traces') {
      res.writeHead(404).end('{}');
      return;
    }
    this.headers.push(req.headers);
    const mode = this.mode;
    if (mode.kind === 'hang') return; // never answer
    let decoded: Omit<ReceivedSpan, 'receivedAtMs'>[];
    try {
      decoded = protobufRequest
        ? flatten(ExportRequest.toObject(ExportRequest.decode(body), { longs: String, bytes: Array, defaults: false }))
        : flatten(JSON.parse(body.toString('utf8')));
    } catch (err) {
      refuse(res, protobufRequest, 400, String(err));
      return;
    }
    if (mode.kind === 'max_spans' && decoded.length > mode.max) {
      this.requests.push({ contentType, spans: decoded.length, answered: 413 });
      refuse(res, protobufRequest, 413, 'too large');
      return;
    }
    if (mode.kind === 'status') {
      this.requests.push({ contentType, spans: decoded.length, answered: mode.code });
      refuse(res, protobufRequest, mode.code, `receiver answers ${mode.code}`, mode.retryAfter);
      return;
    }
    this.requests.push({ contentType, spans: decoded.length, answered: 200 });
    const receivedAtMs = Date.now();
    this.spans.push(...decoded.map((span) => ({ ...span, receivedAtMs })));
    const answer = mode.kind === 'partial' ? { partialSuccess: { rejectedSpans: String(mode.rejected), errorMessage: mode.message } } : {};
    // a collector answers in the request's encoding
    if (protobufRequest)
      res
        .writeHead(200, { 'content-type': 'application/x-protobuf' })
        .end(ExportResponse.encode(ExportResponse.fromObject(answer)).finish());
    else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
  }

  byTrace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((s) => s.traceId === traceId);
  }

  /** Waits until pred holds over the received spans (polling), or fails after timeoutMs. */
  async waitFor(pred: (spans: ReceivedSpan[]) => boolean, timeoutMs = 10_000, what = 'spans'): Promise<ReceivedSpan[]> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (pred(this.spans)) return this.spans;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(
      `timed out after ${timeoutMs} ms waiting for ${what}; received ${this.spans.length} spans: ${this.spans.map((s) => s.name).join(', ')}`,
    );
  }
}
