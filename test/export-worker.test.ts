import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Worker } from 'node:worker_threads';
// the built modules: the worker thread runs dist/export/export-worker.js (npm test builds first)
import { createLogger } from '../dist/log.js';
import { StoredOutboxRow } from '../dist/store/run-store.js';
import { WorkerRowExporter } from '../dist/export/worker-exporter.js';
import { encodeStoredSpan } from '../dist/telemetry/otlp-span.js';
import { makeSpan } from './store-contract.js';

import { OtlpReceiver } from './support/otlp-receiver.js';

const T1 = Date.UTC(2026, 5, 1, 12, 0, 0, 250);

/** An export worker sending to the receiver, as the bridge starts one (one resource attribute of its own). */
function workerExporter(receiver: OtlpReceiver, protocol: 'http/protobuf' | 'http/json'): WorkerRowExporter {
  const settings = { url: `${receiver.url}/v1/traces`, protocol, timeoutMs: 10_000, headers: {}, version: 'test' };
  return new WorkerRowExporter(
    { ...settings, resourceAttributes: { 'deployment.environment.name': 'test' }, logLevel: 'silent' },
    createLogger('silent'),
  );
}

/** rows as earlier versions stored them (JSON text): the worker encodes them on read */
const rows = (names: string[]) => names.map((n, i) => new StoredOutboxRow(i + 1, 'run-w', 0, 0, JSON.stringify(makeSpan('run-w', n))));

for (const protocol of ['http/protobuf', 'http/json'] as const) {
  describe(`export worker thread, ${protocol}: stored span bytes to the collector`, () => {
    let receiver: OtlpReceiver;
    let exporter: WorkerRowExporter;
    before(async () => {
      receiver = await new OtlpReceiver().start();
      exporter = workerExporter(receiver, protocol);
    });
    after(async () => {
      await exporter.shutdown();
      await receiver.stop();
    });

    it('sends encoded rows and JSON rows of earlier versions alike, each under its project', async () => {
      const a = {
        ...makeSpan('run-a', 'a1'),
        project_key: 'alpha',
        attributes: { 'oprelay.run.id': 'run-a', n: 3, r: 0.5, ok: true, l: ['x'] },
      };
      const b = { ...makeSpan('run-b', 'b1'), project_key: 'beta', start: T1, end: T1 + 2.5 };
      const mixed = [
        new StoredOutboxRow(1, 'run-a', 0, 0, encodeStoredSpan(a)),
        new StoredOutboxRow(2, 'run-b', 0, 0, JSON.stringify(b)),
        new StoredOutboxRow(3, 'run-b', 0, 0, Buffer.from(JSON.stringify({ ...b, name: 'b2' }))),
      ];
      assert.deepEqual(await exporter.export(mixed), { ok: true });
      const got = Object.fromEntries(receiver.spans.map((s) => [s.name, s]));
      assert.deepEqual(Object.keys(got).sort(), ['a1', 'b1', 'b2']);
      assert.equal(got.a1!.resource['service.name'], 'alpha');
      assert.equal(got.b1!.resource['service.name'], 'beta');
      assert.equal(got.b2!.resource['deployment.environment.name'], 'test');
      assert.deepEqual(got.a1!.attributes, a.attributes);
      assert.equal(got.a1!.parentSpanId, a.parent_span_id);
      assert.equal(got.b1!.startMs, T1);
      assert.equal(got.b1!.endMs, T1 + 2.5);
    });

    it('reports a partial success with the rejected count', async () => {
      receiver.answer({ kind: 'partial', rejected: 1, message: 'span p1 rejected' });
      const out = await exporter.export([new StoredOutboxRow(1, 'run-p', 0, 0, encodeStoredSpan(makeSpan('run-p', 'p1')))]);
      receiver.answer({ kind: 'ok' });
      assert.deepEqual(out, { ok: true, partial: { rejected: 1, message: 'span p1 rejected' } });
    });
  });
}

describe('export worker thread', () => {
  let receiver: OtlpReceiver;
  let exporter: WorkerRowExporter;
  before(async () => {
    receiver = await new OtlpReceiver().start();
    exporter = workerExporter(receiver, 'http/json');
  });
  after(async () => {
    await exporter.shutdown();
    await receiver.stop();
  });

  it('turns stored span text into OTLP spans with the project as service.name', async () => {
    assert.deepEqual(await exporter.export(rows(['w1', 'w2'])), { ok: true });
    assert.deepEqual(
      receiver.spans.map((s) => s.name),
      ['w1', 'w2'],
    );
    assert.equal(receiver.spans[0].resource['service.name'], 'alpha');
    assert.equal(receiver.spans[0].resource['deployment.environment.name'], 'test');
    assert.equal(receiver.spans[0].attributes['oprelay.run.id'], 'run-w');
  });

  it('passes the collector status back for the relay to classify', async () => {
    receiver.answer({ kind: 'status', code: 400 });
    const out = await exporter.export(rows(['w3']));
    receiver.answer({ kind: 'ok' });
    assert.equal(out.ok, false);
    assert.equal(!out.ok && out.status, 400);
  });

  it('reports a partial success with the rejected count', async () => {
    receiver.answer({ kind: 'partial', rejected: 1, message: 'span w4 rejected' });
    const out = await exporter.export(rows(['w4', 'w5']));
    receiver.answer({ kind: 'ok' });
    assert.deepEqual(out, { ok: true, partial: { rejected: 1, message: 'span w4 rejected' } });
  });

  it('a worker that dies fails the batch in flight (retryable) and a new one takes the next', async () => {
    receiver.answer({ kind: 'hang' });
    const inFlight = exporter.export(rows(['w6']));
    const worker = (exporter as unknown as { worker: Worker }).worker;
    await worker.terminate();
    const failed = await inFlight;
    assert.equal(failed.ok, false);
    assert.match(!failed.ok ? failed.message : '', /export worker exited/);
    receiver.answer({ kind: 'ok' });
    const before = receiver.spans.length;
    assert.deepEqual(await exporter.export(rows(['w7'])), { ok: true });
    assert.deepEqual(
      receiver.spans.slice(before).map((s) => s.name),
      ['w7'],
    );
  });
});
