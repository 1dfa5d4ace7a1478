import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { createServer } from 'node:net';
import { errorText, OutageLog } from '../../src/export/outage-log.js';
import { RunMetrics } from '../../src/telemetry/run-metrics.js';
import { OutboxRelay } from '../../src/export/outbox-relay.js';
import type { RowExporter, RowExportOutcome } from '../../src/export/row-exporter.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { FakeClock, outboxSpan as span, RecordingLog } from './fakes.js';

// A collector outage in the relay's log: one warning when it starts (the error, the attempts, the
// outbox depth), debug lines while it lasts, one line when delivery resumes.

class SwitchableExporter implements RowExporter {
  up = false;
  async export(): Promise<RowExportOutcome> {
    return this.up ? { ok: true } : { ok: false, message: 'TypeError: fetch failed: connect ECONNREFUSED 127.0.0.1:4318' };
  }
  async shutdown(): Promise<void> {}
}

let store: MemoryStore;
let clock: FakeClock;
let log: RecordingLog;

beforeEach(async () => {
  store = new MemoryStore();
  await store.init();
  clock = new FakeClock();
  log = new RecordingLog();
});

const relayWith = (exporter: RowExporter) =>
  new OutboxRelay({
    store,
    exporter,
    log,
    intervalMs: 1_000,
    batchSize: 10,
    leaseMs: 30_000,
    maxAgeMs: 7 * 86_400_000,
    maxBackoffMs: 1_000,
    now: clock.now,
  });

describe('export outage log', () => {
  it('one warning per outage with the outbox depth, one line when delivery resumes', async () => {
    await store.transact('run', (tx) => tx.enqueue([span('a'), span('b'), span('c')], clock.time));
    const exporter = new SwitchableExporter();
    const relay = relayWith(exporter);
    for (let i = 0; i < 5; i++) {
      await relay.tick();
      clock.advance(60_000);
    }
    const above = (level: string) => log.lines.filter((l) => l.level !== 'debug' && (level === '*' || l.level === level));
    assert.equal(above('warn').length, 1, JSON.stringify(log.lines));
    const warning = above('warn')[0];
    assert.match(warning.msg, /^export failing: spans wait in the outbox/);
    assert.equal(warning.fields?.outbox_depth, 3);
    assert.equal(warning.fields?.failed_attempts, 1);
    assert.equal(warning.fields?.error, 'TypeError: fetch failed: connect ECONNREFUSED 127.0.0.1:4318');
    assert.equal(log.lines.filter((l) => l.msg === 'export failed, will retry').length, 5, 'each attempt is a debug line');

    exporter.up = true;
    await relay.tick();
    await relay.tick();
    const resumed = above('info');
    assert.equal(resumed.length, 1);
    assert.equal(resumed[0].msg, 'export resumed');
    assert.equal(resumed[0].fields?.failed_attempts, 5);
    assert.equal(resumed[0].fields?.outbox_depth, 0);
    assert.equal(resumed[0].fields?.outage_ms, 5 * 60_000);

    // a second outage is a second warning
    await store.transact('run', (tx) => tx.enqueue([span('d')], clock.time));
    exporter.up = false;
    await relay.tick();
    assert.equal(above('warn').length, 2);
    assert.equal(above('warn')[1].fields?.outbox_depth, 1);
  });

  it('writes an expected network error without its stack; anything else with where it came from', () => {
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4318'), { code: 'ECONNREFUSED' }),
    });
    assert.equal(errorText(refused), 'fetch failed (ECONNREFUSED)');
    assert.equal(errorText(new Error('connect ECONNREFUSED 127.0.0.1:4318')), 'connect ECONNREFUSED 127.0.0.1:4318');
    const odd = errorText(new RangeError('invalid array length'));
    assert.match(odd, /^invalid array length at /);
    assert.equal(odd.split('\n').length, 1, 'one line');
    assert.equal(
      errorText({
        message: 'PeriodicExportingMetricReader: metrics export failed (error Error: connect ECONNREFUSED 127.0.0.1:4318)',
        stack: 'Error: …\n    at x',
      }),
      'PeriodicExportingMetricReader: metrics export failed (error Error: connect ECONNREFUSED 127.0.0.1:4318)',
    );
  });

  it('the OTLP metrics push: one warning while the collector refuses, one line when it takes them again', async () => {
    // a port that refuses: bound, then closed
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    const outage = new OutageLog({ log, signal: 'metrics' });
    let pushes = 0;
    const metrics = new RunMetrics({
      maxSeries: 10,
      prometheus: false,
      otlp: {
        protocol: 'http/protobuf',
        url: `http://127.0.0.1:${port}/v1/metrics`,
        intervalMs: 100,
        timeoutMs: 200,
        headers: {},
        onExport: (error) => {
          pushes++;
          if (error === undefined) outage.delivered();
          else outage.failed(error);
        },
      },
      resourceAttributes: {},
      instanceId: 'test',
      version: '0',
      gauges: { activeRuns: async () => new Map(), outbox: () => ({ depth: 0, oldestAgeMs: null }) },
    });
    try {
      for (let i = 0; i < 100 && pushes < 3; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await metrics.shutdown();
    }
    assert.ok(pushes >= 3, `pushes: ${pushes}`);
    const warnings = log.lines.filter((l) => l.level === 'warn');
    assert.equal(warnings.length, 1, JSON.stringify(log.lines));
    assert.match(warnings[0]!.msg, /^metrics export failing/);
    assert.match(String(warnings[0]!.fields?.error), /ECONNREFUSED/);
    assert.doesNotMatch(String(warnings[0]!.fields?.error), /\n|\bat /, 'no stack');
    outage.delivered();
    assert.equal(log.lines.filter((l) => l.msg === 'metrics export resumed').length, 1);
  });
});
