import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { protobufSpans } from './otlp-counter.js';

/**
 * The soak's OTLP/HTTP receiver, which goes down on a schedule: `down()` closes its port and
 * every connection (the bridge sees connection refused), `up()` listens on the same port again.
 * It counts spans without decoding them: protobuf by walking its fields, JSON by a per-span key.
 */
export class SoakCollector {
  spans = 0;
  lastAt = 0;
  private server: Server;
  private port = 0;
  private listening = false;

  constructor() {
    this.server = createServer((req, res) => this.handle(req, res));
  }

  async up(): Promise<string> {
    if (!this.listening) {
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject);
        this.server.listen(this.port, '127.0.0.1', () => {
          this.server.off('error', reject);
          resolve();
        });
      });
      this.port = (this.server.address() as AddressInfo).port;
      this.listening = true;
    }
    return `http://127.0.0.1:${this.port}`;
  }

  async down(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      if (String(req.headers['content-type']).includes('protobuf')) this.spans += protobufSpans(raw);
      else {
        const body = raw.toString('utf8');
        for (let i = body.indexOf('"startTimeUnixNano"'); i !== -1; i = body.indexOf('"startTimeUnixNano"', i + 1)) this.spans++;
      }
      this.lastAt = performance.now();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  }
}
