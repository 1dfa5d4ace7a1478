import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';
import { parseDuration } from '../src/duration.js';

describe('loadConfig(env)', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.port, 8787);
    assert.equal(c.store, 'sqlite');
    assert.equal(c.dataDir, './data');
    assert.equal(c.exportIntervalMs, 1000);
    assert.equal(c.outboxMaxAgeMs, 7 * 86_400_000);
    assert.equal(c.outboxMaxRows, 1_000_000);
    assert.equal(c.runIdleTimeoutMs, 24 * 3_600_000);
    assert.equal(c.runMaxDurationMs, 7 * 86_400_000);
    assert.equal(c.metricsMaxSeries, 1000);
    assert.equal(c.rateLimit, 0);
    assert.equal(c.otlp.tracesUrl, 'http://localhost:4318/v1/traces');
    assert.equal(c.otlp.protocol, 'http/protobuf');
    assert.equal(c.otlp.metricsProtocol, 'http/protobuf');
    assert.equal(c.traceUrl, undefined);
  });

  it('OTLP encoding: http/protobuf by default, OTEL_EXPORTER_OTLP_PROTOCOL for both signals, each signal its own', () => {
    const json = loadConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' });
    assert.deepEqual([json.otlp.protocol, json.otlp.metricsProtocol], ['http/json', 'http/json']);
    const mixed = loadConfig({
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/protobuf',
    });
    assert.deepEqual([mixed.otlp.protocol, mixed.otlp.metricsProtocol], ['http/protobuf', 'http/protobuf']);
    const tracesOnly = loadConfig({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' });
    assert.deepEqual([tracesOnly.otlp.protocol, tracesOnly.otlp.metricsProtocol], ['http/json', 'http/protobuf']);
    for (const name of ['OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL'])
      assert.throws(
        () => loadConfig({ [name]: 'grpc' }),
        (e: unknown) =>
          e instanceof ConfigError &&
          e.message.includes(`${name}: expected http/protobuf or http/json (OTLP over gRPC is not spoken), got "grpc"`),
      );
  });

  it('bounds an export attempt by the outbox lease, so a slow collector is never sent a batch twice', () => {
    assert.equal(loadConfig({}).otlp.tracesTimeoutMs, 10_000, 'the OTLP default under the default 30 s lease');
    assert.equal(loadConfig({ BRIDGE_OUTBOX_LEASE: '2s' }).otlp.tracesTimeoutMs, 1_600, 'the default shrinks to 80% of a short lease');
    assert.equal(loadConfig({ BRIDGE_OUTBOX_LEASE: '2s', OTEL_EXPORTER_OTLP_TIMEOUT: '1500' }).otlp.tracesTimeoutMs, 1_500);
    assert.throws(
      () => loadConfig({ BRIDGE_OUTBOX_LEASE: '2s', OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '5000' }),
      (e: unknown) =>
        e instanceof ConfigError &&
        /OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: 5000 ms is longer than 1600 ms, 80% of BRIDGE_OUTBOX_LEASE/.test(e.message),
    );
  });

  it('parses keys, budgets, durations, OTLP settings and resource attributes', () => {
    const c = loadConfig({
      BRIDGE_API_KEYS: 'key-one-123=proj-a,proj-b; key-two-456=*',
      BRIDGE_BUDGETS: 'proj-a=25;proj-b=2.5',
      BRIDGE_RUN_IDLE_TIMEOUT: '15m',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod,team=sre',
      BRIDGE_TRACE_URL: 'http://localhost:16686/trace/{trace_id}',
    });
    assert.deepEqual(c.apiKeys, [
      { key: 'key-one-123', projects: ['proj-a', 'proj-b'], readOnly: false },
      { key: 'key-two-456', projects: ['*'], readOnly: false },
    ]);
    assert.deepEqual(c.budgets, { 'proj-a': 25, 'proj-b': 2.5 });
    assert.equal(c.runIdleTimeoutMs, 900_000);
    assert.equal(c.otlp.tracesUrl, 'http://collector:4318/v1/traces');
    assert.equal(c.otlp.protocol, 'http/json');
    assert.deepEqual(c.resourceAttributes, { 'deployment.environment': 'prod', team: 'sre' });
  });

  it('metrics go to their own endpoint when given (a traces-only backend such as Phoenix has no /v1/metrics)', () => {
    const own = loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://phoenix:6006',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://collector:4318/v1/metrics',
    });
    assert.equal(own.otlp.tracesUrl, 'http://phoenix:6006/v1/traces');
    assert.equal(own.otlp.metricsUrl, 'http://collector:4318/v1/metrics');
    assert.equal(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).otlp.metricsUrl, 'http://collector:4318/v1/metrics');
    assert.throws(() => loadConfig({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'not a url' }), /OTEL_EXPORTER_OTLP_METRICS_ENDPOINT/);
  });

  it('keeps ended runs for BRIDGE_RUN_RETENTION (30 days by default), or forever when off', () => {
    assert.equal(loadConfig({}).runRetentionMs, 30 * 86_400_000);
    assert.equal(loadConfig({ BRIDGE_RUN_RETENTION: '12h' }).runRetentionMs, 12 * 3_600_000);
    assert.equal(loadConfig({ BRIDGE_RUN_RETENTION: 'off' }).runRetentionMs, null);
    assert.equal(loadConfig({ BRIDGE_RUN_RETENTION: '0' }).runRetentionMs, null);
    assert.throws(
      () => loadConfig({ BRIDGE_RUN_RETENTION: '30' }),
      /BRIDGE_RUN_RETENTION: "30" has no unit; write it with one, e\.g\. 30s/,
    );
    assert.throws(
      () => loadConfig({ BRIDGE_RUN_RETENTION: 'a month' }),
      (e: unknown) => e instanceof ConfigError && /BRIDGE_RUN_RETENTION: expected a duration like 12h, 7d or 30d, or off/.test(e.message),
    );
  });

  it('names every bad variable', () => {
    assert.throws(
      () => loadConfig({ BRIDGE_PORT: '99999', BRIDGE_RUN_IDLE_TIMEOUT: 'soon', BRIDGE_STORE: 'mysql', BRIDGE_TRACE_URL: 'http://x/' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        for (const name of ['BRIDGE_PORT', 'BRIDGE_RUN_IDLE_TIMEOUT', 'BRIDGE_STORE', 'BRIDGE_TRACE_URL'])
          assert.match(err.message, new RegExp(name));
        assert.match(err.message, /65535/);
        return true;
      },
    );
    assert.throws(() => loadConfig({ BRIDGE_BUDGETS: 'proj=-1' }), /BRIDGE_BUDGETS/);
    assert.throws(() => loadConfig({ BRIDGE_API_KEYS: 'short=p' }), /BRIDGE_API_KEYS/);
  });

  it('parses durations', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('7d'), 604_800_000);
    assert.equal(parseDuration('1.5h'), 5_400_000);
    assert.equal(parseDuration('ten'), undefined);
    assert.equal(parseDuration('30'), undefined, 'a number without its unit is no duration');
  });

  it('refuses a duration without its unit, naming the variable and showing it with one', () => {
    for (const name of [
      'BRIDGE_RUN_IDLE_TIMEOUT',
      'BRIDGE_SHUTDOWN_TIMEOUT',
      'BRIDGE_OUTBOX_MAX_AGE',
      'BRIDGE_OUTBOX_LEASE',
      'BRIDGE_RETRY_MAX_BACKOFF',
      'BRIDGE_RUN_MAX_DURATION',
    ])
      assert.throws(
        () => loadConfig({ [name]: '30' }),
        (e: unknown) => e instanceof ConfigError && e.message.includes(`${name}: "30" has no unit`) && e.message.includes('30s'),
        name,
      );
    // the *_MS settings and the OTLP timeouts are milliseconds by their documented unit
    assert.equal(loadConfig({ BRIDGE_EXPORT_INTERVAL_MS: '30', OTEL_EXPORTER_OTLP_TIMEOUT: '30' }).exportIntervalMs, 30);
  });

  it('refuses an OTLP endpoint without an http(s) scheme at start, naming the variable', () => {
    for (const name of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'])
      for (const value of ['localhost:4318', 'collector:4318/v1/traces', 'ftp://collector:4318'])
        assert.throws(
          () => loadConfig({ [name]: value }),
          (e: unknown) =>
            e instanceof ConfigError && e.message.includes(`${name}: expected an http:// or https:// URL`) && e.message.includes(value),
          `${name}=${value}`,
        );
    const c = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector:4318', OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://m:9/x' });
    assert.equal(c.otlp.tracesUrl, 'https://collector:4318/v1/traces');
    assert.equal(c.otlp.metricsUrl, 'http://m:9/x');
    assert.equal(loadConfig({}).otlp.metricsUrl, 'http://localhost:4318/v1/metrics');
  });
});
