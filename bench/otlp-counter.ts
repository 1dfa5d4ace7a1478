import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A lean OTLP/HTTP JSON trace receiver for benchmarks: it counts spans by scanning the body for
 * a per-span key instead of decoding it, so the receiver is not the bottleneck; only bodies that
 * hold a root span (`invoke_agent`) are parsed, to time their arrival per trace id.
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
      const body = Buffer.concat(chunks).toString('utf8');
      const now = performance.now();
      const n = countOf(body, '"startTimeUnixNano"');
      if (body.includes('"invoke_agent')) this.noteRoots(body, now);
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
