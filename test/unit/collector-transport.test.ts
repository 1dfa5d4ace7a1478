import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { CollectorRefusal, CollectorTransport } from '../../src/export/collector-transport.js';

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  socket: unknown;
}

/** A collector on 127.0.0.1 answering each request with `answer`; records what it received. */
async function collector(answer: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks), socket: req.socket });
      answer(req, res, received.length);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  servers.push(server);
  return { origin, received };
}

const servers: http.Server[] = [];
const transports: CollectorTransport[] = [];
after(() => {
  transports.forEach((t) => t.shutdown());
  servers.forEach((s) => s.closeAllConnections());
  servers.forEach((s) => s.close());
});

function transport(url: string): CollectorTransport {
  const t = new CollectorTransport({ url, contentType: 'application/x-protobuf', headers: { 'x-api-key': 'k1' } });
  transports.push(t);
  return t;
}

const body = Uint8Array.from({ length: 70_000 }, (_, i) => i % 251);

describe('collector transport', () => {
  it('posts the body as it is, with the content type and the configured headers, over one kept-alive connection', async () => {
    const c = await collector((_req, res) => res.end(Buffer.from([1, 2])));
    const t = transport(`${c.origin}/v1/traces`);
    const first = await t.send(body, 5_000);
    const second = await t.send(body, 5_000);
    assert.equal(first.status, 'success');
    assert.equal(second.status, 'success');
    assert.deepEqual(first.status === 'success' && [...(first.data ?? [])], [1, 2]);
    assert.equal(c.received.length, 2);
    assert.equal(c.received[0]!.path, '/v1/traces');
    assert.equal(c.received[0]!.headers['content-type'], 'application/x-protobuf');
    assert.equal(c.received[0]!.headers['x-api-key'], 'k1');
    assert.ok(c.received[0]!.body.equals(Buffer.from(body)));
    assert.equal(c.received[1]!.socket, c.received[0]!.socket, 'the second export reuses the connection');
  });

  it('returns a 503 as retryable with its Retry-After, and a 400 as final with the message of its protobuf Status', async () => {
    // google.rpc.Status { code: 3, message: "bad span" }
    const status = Buffer.from([0x08, 0x03, 0x12, 0x08, ...Buffer.from('bad span')]);
    const c = await collector((_req, res, n) => {
      if (n === 1) res.writeHead(503, { 'retry-after': '7' }).end('busy');
      else res.writeHead(400, { 'content-type': 'application/x-protobuf' }).end(status);
    });
    const t = transport(`${c.origin}/v1/traces`);
    const busy = await t.send(body, 5_000);
    assert.equal(busy.status, 'retryable');
    assert.equal(busy.status === 'retryable' && busy.retryInMillis, 7_000);
    assert.ok(busy.status === 'retryable' && busy.error instanceof CollectorRefusal && busy.error.detail === 'busy');
    const bad = await t.send(body, 5_000);
    assert.equal(bad.status, 'failure');
    const error = bad.status === 'failure' ? bad.error : undefined;
    assert.ok(error instanceof CollectorRefusal);
    assert.equal(error.code, 400);
    assert.equal(error.detail, 'bad span');
  });

  it('follows a 307 to the same origin with the same body, and refuses a redirect to another host', async () => {
    const other = await collector((_req, res) => res.end());
    const c = await collector((req, res) => {
      if (req.url === '/v1/traces') res.writeHead(307, { location: '/otlp/v1/traces' }).end();
      else if (req.url === '/otlp/v1/traces') res.end();
      else res.writeHead(308, { location: `${other.origin}/v1/traces` }).end();
    });
    const followed = await transport(`${c.origin}/v1/traces`).send(body, 5_000);
    assert.equal(followed.status, 'success');
    assert.deepEqual(
      c.received.map((r) => r.path),
      ['/v1/traces', '/otlp/v1/traces'],
    );
    assert.ok(c.received[1]!.body.equals(Buffer.from(body)));
    const refused = await transport(`${c.origin}/elsewhere`).send(body, 5_000);
    assert.equal(refused.status, 'failure');
    assert.match(
      String(refused.status === 'failure' && refused.error.message),
      /HTTP 308: redirected to http:\/\/127\.0\.0\.1:\d+\/v1\/traces, not followed/,
    );
    assert.equal(other.received.length, 0, 'nothing, headers included, went to the other host');
  });

  it('gives up on a collector that does not answer within the timeout, and reports a refused connection', async () => {
    const c = await collector(() => undefined); // never answers
    const started = Date.now();
    const silent = await transport(`${c.origin}/v1/traces`).send(body, 200);
    assert.equal(silent.status, 'retryable');
    assert.match(String(silent.status === 'retryable' && silent.error?.message), /no answer within 200 ms \(OTEL_EXPORTER_OTLP_TIMEOUT\)/);
    assert.ok(Date.now() - started < 3_000);
    const stalled = await collector((_req, res) => res.writeHead(200, { 'content-length': '100' }).write('{"partial'));
    const cut = await transport(`${stalled.origin}/v1/traces`).send(body, 200);
    assert.equal(cut.status, 'retryable', 'an answer cut short by the timeout is not a success');
    assert.match(String(cut.status === 'retryable' && cut.error?.message), /no answer within 200 ms/);
    const closed = await collector(() => undefined);
    const port = new URL(closed.origin).port;
    servers.pop()!.close();
    const refused = await transport(`http://127.0.0.1:${port}/v1/traces`).send(body, 2_000);
    assert.equal(refused.status, 'retryable');
    assert.match(String(refused.status === 'retryable' && refused.error?.message), /ECONNREFUSED/);
  });

  it('sends again at once when a kept-alive connection is reset as it is reused', async () => {
    const c = await collector((req, res, n) => {
      if (n === 2) req.socket.resetAndDestroy();
      else res.end();
    });
    const t = transport(`${c.origin}/v1/traces`);
    assert.equal((await t.send(body, 5_000)).status, 'success');
    assert.equal((await t.send(body, 5_000)).status, 'success');
    assert.equal(c.received.length, 3, 'the reset request and its one resend');
    assert.notEqual(c.received[2]!.socket, c.received[0]!.socket);
  });
});
