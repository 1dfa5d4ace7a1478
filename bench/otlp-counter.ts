import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A lean OTLP/HTTP trace receiver for benchmarks: it counts spans without decoding them, so the
 * receiver is not the bottleneck — a JSON body by scanning for a per-span key, a protobuf body by
 * walking its length-delimited fields down to ScopeSpans.spans. Root spans (`invoke_agent`) are
 * timed per trace id: a JSON body holding one is parsed, a protobuf span's name is compared in place.
 */
export class OtlpCounter {
  spans = 0;
  requests = 0;
  firstAt = 0;
  firstBatch = 0;
  lastAt = 0;
  /** trace id → arrival time (ms, performance.now()) of its root span */
  readonly roots = new Map<string, number>();
  private server: Server;
  private waiters: { n: number; resolve: () => void }[] = [];

  constructor() {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  reset(): void {
    this.spans = this.requests = this.firstAt = this.firstBatch = this.lastAt = 0;
    this.roots.clear();
  }

  /** Resolves once at least n spans arrived (since the last reset), or rejects after timeoutMs. */
  waitFor(n: number, timeoutMs: number): Promise<void> {
    if (this.spans >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w = { n, resolve };
      this.waiters.push(w);
      setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`receiver has ${this.spans} of ${n} spans after ${timeoutMs} ms`));
      }, timeoutMs).unref();
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const now = performance.now();
      let n: number;
      if (String(req.headers['content-type']).includes('protobuf')) {
        n = protobufSpans(raw, (traceId) => {
          if (!this.roots.has(traceId)) this.roots.set(traceId, now);
        });
      } else {
        const body = raw.toString('utf8');
        n = countOf(body, '"startTimeUnixNano"');
        if (body.includes('"invoke_agent')) this.noteRoots(body, now);
      }
      if (this.requests++ === 0) {
        this.firstAt = now;
        this.firstBatch = n;
      }
      this.spans += n;
      this.lastAt = now;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      this.waiters = this.waiters.filter((w) => (this.spans >= w.n ? (w.resolve(), false) : true));
    });
  }

  private noteRoots(body: string, now: number): void {
    const msg = JSON.parse(body) as {
      resourceSpans: { scopeSpans: { spans: { name: string; traceId: string }[] }[] }[];
    };
    for (const rs of msg.resourceSpans)
      for (const ss of rs.scopeSpans)
        for (const s of ss.spans) if (s.name.startsWith('invoke_agent') && !this.roots.has(s.traceId)) this.roots.set(s.traceId, now);
  }
}

function countOf(s: string, needle: string): number {
  let n = 0;
  for (let i = s.indexOf(needle); i !== -1; i = s.indexOf(needle, i + needle.length)) n++;
  return n;
}

/** Calls `on` for each field of a protobuf message in buf[start, end): field number, value bounds. */
function eachField(buf: Buffer, start: number, end: number, on: (field: number, from: number, to: number) => void): void {
  let at = start;
  const varint = () => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const b = buf[at++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
  };
  while (at < end) {
    const key = varint();
    const wire = key & 7;
    if (wire === 0) varint();
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const len = varint();
      on(Math.floor(key / 8), at, at + len);
      at += len;
    } else throw new Error(`protobuf wire type ${wire}`);
  }
}

const INVOKE_AGENT = Buffer.from('invoke_agent');

/**
 * Spans in an ExportTraceServiceRequest: resource_spans (1) → scope_spans (2) → spans (2); `onRoot`
 * gets the hex trace id (Span field 1) of each span whose name (field 5) starts with invoke_agent.
 */
export function protobufSpans(buf: Buffer, onRoot?: (traceId: string) => void): number {
  let n = 0;
  const span = (from: number, to: number) => {
    n++;
    if (!onRoot) return;
    let traceId = '';
    let root = false;
    eachField(buf, from, to, (f, a, b) => {
      if (f === 1) traceId = buf.toString('hex', a, b);
      else if (f === 5) root = buf.subarray(a, b).subarray(0, INVOKE_AGENT.length).equals(INVOKE_AGENT);
    });
    if (root) onRoot(traceId);
  };
  eachField(buf, 0, buf.length, (f, a, b) => {
    if (f === 1) eachField(buf, a, b, (rf, ra, rb) => rf === 2 && eachField(buf, ra, rb, (sf, sa, sb) => sf === 2 && span(sa, sb)));
  });
  return n;
}
