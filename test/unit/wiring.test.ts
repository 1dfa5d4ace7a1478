import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { KeyRing } from '../../src/auth/api-keys.js';
import { loadConfig } from '../../src/config.js';
import type { RowExporter, RowExportOutcome } from '../../src/export/row-exporter.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { OutboxRow } from '../../src/store/run-store.js';
import { buildParts, type BridgeParts } from '../../src/wiring.js';
import { RecordingLog } from './fakes.js';

// The bridge's parts built in-process from a config, as Bridge.start builds them, without
// listening: a memory store and an exporter that keeps what it is given.

/** Accepts every batch and keeps the span names it saw. */
class KeepingExporter implements RowExporter {
  readonly names: string[] = [];
  async export(rows: readonly OutboxRow[]): Promise<RowExportOutcome> {
    this.names.push(...rows.map((r) => r.span.name));
    return { ok: true };
  }
  async shutdown(): Promise<void> {}
}

const PROJECT = 'wired';
const AGENT = '0b7e6f2a-1c3d-4e5f-8a9b-0c1d2e3f4a5b';

describe('buildParts', () => {
  let parts: BridgeParts;
  let exporter: KeepingExporter;
  let server: Server | undefined;

  before(async () => {
    const config = loadConfig({ OTEL_METRICS_EXPORTER: 'prometheus', BRIDGE_TRACE_URL: 'http://jaeger.test/trace/{trace_id}' });
    const store = new MemoryStore();
    await store.init();
    const keys = new KeyRing(store, []);
    await keys.load();
    exporter = new KeepingExporter();
    parts = await buildParts(config, { log: new RecordingLog(), store, keys, exporter });
  });

  after(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await parts.metrics.shutdown();
    await parts.store.close();
  });

  it('wires the gateway, the service and the relay to one store: a started run reaches the exporter', async () => {
    const started = (await parts.gateway.call('core_start_run', { project_key: PROJECT, agent_id: AGENT }, {})) as {
      run_id: string;
      trace_id: string;
      trace_url: string;
    };
    assert.equal(started.trace_url, `http://jaeger.test/trace/${started.trace_id}`);
    assert.equal((await parts.store.getRun(started.run_id))?.project_key, PROJECT);
    await parts.relay.tick();
    assert.deepEqual(exporter.names, ['start_run']);
    assert.equal((await parts.store.outboxStats(Date.now())).depth, 0);
  });

  it('reads the outbox depth from the store at start: spans waiting from before a restart count at once', async () => {
    const config = loadConfig({ OTEL_METRICS_EXPORTER: 'prometheus' });
    const store = new MemoryStore();
    await store.init();
    const earlier = await buildParts(config, {
      log: new RecordingLog(),
      store,
      keys: new KeyRing(store, []),
      exporter: new KeepingExporter(),
    });
    await earlier.gateway.call('core_start_run', { project_key: PROJECT, agent_id: AGENT }, {});
    const waiting = (await store.outboxStats(Date.now())).depth;
    assert.ok(waiting > 0);
    await earlier.metrics.shutdown();
    // a restart on the same store: nothing exported yet, no relay pass yet
    const restarted = await buildParts(config, {
      log: new RecordingLog(),
      store,
      keys: new KeyRing(store, []),
      exporter: new KeepingExporter(),
    });
    try {
      assert.equal(restarted.relay.depth, waiting);
      const scraper = createServer((req, res) => restarted.metrics.handlePrometheus(req, res));
      await new Promise<void>((resolve) => scraper.listen(0, '127.0.0.1', resolve));
      const scrape = await fetch(`http://127.0.0.1:${(scraper.address() as AddressInfo).port}/metrics`).then((r) => r.text());
      await new Promise<void>((resolve) => scraper.close(() => resolve()));
      assert.match(scrape, new RegExp(`^oprelay_outbox_depth(\\{[^}]*\\})? ${waiting}$`, 'm'), scrape);
    } finally {
      await restarted.metrics.shutdown();
    }
  });

  it('builds an HTTP app that answers once a test serves it', async () => {
    server = createServer(parts.listener);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ready', store: 'memory' });
  });
});
