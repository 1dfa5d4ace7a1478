import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';
import { BridgeProcess, CLI } from './support/bridge-process.js';
import { OtlpReceiver } from './support/otlp-receiver.js';

// The standard OTEL_EXPORTER_OTLP_* settings the span relay honours, and what it does with a
// collector's answer: Retry-After on 429/503, the collector's own message on a dead letter.

const run = promisify(execFile);
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail(`expected a ConfigError for ${JSON.stringify(env)}`);
}

/** The JSON log lines whose msg is `msg`. */
function logged(b: BridgeProcess, msg: string): Record<string, unknown>[] {
  return b.logs
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return {};
      }
    })
    .filter((l) => l.msg === msg);
}

async function until<T>(what: string, fn: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('OTLP export settings in loadConfig', () => {
  test('timeouts: 10 s by default, OTEL_EXPORTER_OTLP_TIMEOUT, and the traces-specific one wins', () => {
    assert.equal(loadConfig({}).otlp.tracesTimeoutMs, 10_000);
    assert.equal(loadConfig({ OTEL_EXPORTER_OTLP_TIMEOUT: '2500' }).otlp.tracesTimeoutMs, 2500);
    const both = loadConfig({ OTEL_EXPORTER_OTLP_TIMEOUT: '2500', OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '700' });
    assert.equal(both.otlp.tracesTimeoutMs, 700);
    assert.equal(both.otlp.metricsTimeoutMs, 2500);
  });

  test('headers: name=value pairs, URL-decoded, traces-specific ones override by name', () => {
    const c = loadConfig({
      OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer%20tok-123, x-tenant=acme',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-tenant=acme-traces',
    });
    assert.deepEqual(c.otlp.tracesHeaders, { authorization: 'Bearer tok-123', 'x-tenant': 'acme-traces' });
    assert.deepEqual(c.otlp.metricsHeaders, { authorization: 'Bearer tok-123', 'x-tenant': 'acme' });
    assert.deepEqual(loadConfig({}).otlp.tracesHeaders, {});
  });

  test('bad values fail naming the variable, without echoing a header value', () => {
    const timeout = configError({ OTEL_EXPORTER_OTLP_TIMEOUT: '10s' });
    assert.match(timeout, /OTEL_EXPORTER_OTLP_TIMEOUT: expected milliseconds, an integer from 1 to 600000, got "10s"/);
    assert.match(configError({ OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '0' }), /OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: /);
    const headers = configError({ OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer secret-abc,broken' });
    assert.match(headers, /OTEL_EXPORTER_OTLP_HEADERS: expected comma-separated name=value pairs with URL-encoded values; entry 2/);
    assert.doesNotMatch(headers, /secret-abc/);
    assert.match(configError({ OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'bad name=x' }), /OTEL_EXPORTER_OTLP_TRACES_HEADERS: .*entry 1/);
    assert.match(configError({ OTEL_EXPORTER_OTLP_HEADERS: 'x=%E0%A4%A' }), /OTEL_EXPORTER_OTLP_HEADERS: /);
    assert.match(configError({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }), /OTEL_EXPORTER_OTLP_PROTOCOL: /);
  });
});

describe('the relay and the collector', () => {
  test('headers from OTEL_EXPORTER_OTLP_HEADERS reach the collector, on the relay as configured', async () => {
    const receiver = await new OtlpReceiver().start();
    cleanups.push(() => receiver.stop());
    const b = await BridgeProcess.start({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20hosted-key,x-scope-orgid=tenant-7',
    });
    cleanups.push(() => b.dispose());
    const r = await b.tool('record_run', { project_key: 'p', agent: 'a', summary: 'with headers' });
    await receiver.waitFor((all) => all.some((s) => s.traceId === r.body.result.trace_id), 10_000, 'the span');
    assert.equal(receiver.headers[0]?.authorization, 'Bearer hosted-key');
    assert.equal(receiver.headers[0]?.['x-scope-orgid'], 'tenant-7');
  });

  test('OTEL_EXPORTER_OTLP_TIMEOUT bounds each export (not a hard-coded 10 s)', async () => {
    const receiver = await new OtlpReceiver().start();
    cleanups.push(() => receiver.stop());
    receiver.answer({ kind: 'hang' });
    // a long lease, so only the exporter's own timeout can end the attempt
    const b = await BridgeProcess.start({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_TIMEOUT: '300',
      BRIDGE_OUTBOX_LEASE: '60s',
      // every attempt's line is debug: at info an outage is one warning
      BRIDGE_LOG_LEVEL: 'debug',
    });
    cleanups.push(() => b.dispose());
    const began = Date.now();
    await b.tool('record_run', { project_key: 'p', agent: 'a', summary: 'slow collector' });
    const line = await until('a retry after the timeout', () => logged(b, 'export failed, will retry')[0]);
    assert.match(String(line.error), /no answer within 300 ms \(OTEL_EXPORTER_OTLP_TIMEOUT\)/);
    assert.ok(Date.now() - began < 10_000, 'well before the old 10 s');
  });

  test("a collector's Retry-After on 503 and 429 sets the relay's next attempt", async () => {
    const receiver = await new OtlpReceiver().start();
    cleanups.push(() => receiver.stop());
    receiver.answer({ kind: 'status', code: 503, retryAfter: 7 });
    // every attempt's line is debug: at info an outage is one warning
    const b = await BridgeProcess.start({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, BRIDGE_LOG_LEVEL: 'debug' });
    cleanups.push(() => b.dispose());
    await b.tool('record_run', { project_key: 'p', agent: 'a', summary: 'throttled' });
    const first = await until('a retry', () => logged(b, 'export failed, will retry')[0]);
    assert.equal(first.status, 503);
    assert.equal(first.retry_in_ms, 7000);
    assert.equal(first.retry_after_ms, 7000);
    assert.equal(first.error, 'receiver answers 503');
    assert.equal(receiver.requests.length, 1, 'one POST per attempt: the exporter does not retry on its own');

    receiver.answer({ kind: 'status', code: 429, retryAfter: 3 });
    await b.tool('record_run', { project_key: 'q', agent: 'a', summary: 'throttled again' });
    const second = await until('a 429 retry', () => logged(b, 'export failed, will retry').find((l) => l.status === 429));
    assert.equal(second.retry_in_ms, 3000);
  });

  // a collector words a refusal in the request's encoding: a protobuf or a JSON Status
  for (const protocol of ['http/protobuf', 'http/json'])
    test(`a dead letter keeps the collector's own message, not only the HTTP reason phrase (${protocol})`, async () => {
      const receiver = await new OtlpReceiver().start();
      cleanups.push(() => receiver.stop());
      receiver.answer({ kind: 'status', code: 400 });
      const b = await BridgeProcess.start({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: protocol });
      cleanups.push(() => b.dispose());
      await b.tool('record_run', { project_key: 'p', agent: 'a', summary: 'rejected' });
      const line = await until('a dead letter', () => logged(b, 'batch dead-lettered')[0]);
      assert.equal(line.reason, 'HTTP 400: receiver answers 400');
      const status = await run(process.execPath, [CLI, 'outbox', 'status'], { env: { ...process.env, BRIDGE_DATA_DIR: b.dataDir } });
      const letter = JSON.parse(status.stdout.trim().split('\n')[1]!) as { reason: string };
      assert.equal(letter.reason, 'HTTP 400: receiver answers 400');
    });
});
