import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { RETENTION_PAUSE_MS, RunRetention } from '../../src/runs/retention.js';
import { RunService } from '../../src/runs/run-service.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { parseToolArgs } from '../../src/tools/validate.js';
import { FakeClock, RecordingLog, RecordingMetrics } from './fakes.js';

// Run retention against a memory store filled through the run service, with a clock moved by hand.

const HOUR = 3_600_000;
const AGENT = '11111111-2222-4333-8444-555555555555';

function setup(retentionMs: number, batchSize = 500) {
  const clock = new FakeClock();
  const store = new MemoryStore();
  const service = new RunService({
    store,
    metrics: new RecordingMetrics(),
    endUsage: 'final',
    captureContent: true,
    traceEntries: 'all',
    now: clock.now,
  });
  const pauses: number[] = [];
  const log = new RecordingLog();
  const retention = new RunRetention({ store, log, retentionMs, batchSize, now: clock.now, sleep: async (ms) => void pauses.push(ms) });
  const start = async () => {
    const run_id = randomUUID();
    await service.startRun(parseToolArgs('core_start_run', { project_key: 'shop', agent_id: AGENT, run_id }), {});
    return run_id;
  };
  const report = (run_id: string, key: string) =>
    service.reportUsage(parseToolArgs('core_report_usage', { run_id, token_usage: { input_tokens: 10, output_tokens: 2 } }), {
      idempotencyKey: key,
    });
  const end = (run_id: string) => service.endRun(parseToolArgs('core_end_run', { run_id, status: 'completed' }), {});
  return { clock, store, retention, pauses, log, start, report, end };
}

describe('RunRetention', () => {
  it('deletes a run once it has been ended for longer than the retention, never a running one', async () => {
    const { clock, store, retention, start, report, end, log } = setup(2 * HOUR);
    const ended = await start();
    await report(ended, 'k-ended');
    await end(ended);
    const open = await start();
    clock.advance(HOUR);
    const later = await start();
    await end(later);

    clock.advance(HOUR - 1); // ended 2 h - 1 ms ago: kept
    assert.deepEqual(await retention.sweep(), { runs: 0, idempotency: 0 });
    assert.notEqual(await store.getRun(ended), null);

    clock.advance(2); // now past 2 h: deleted with its idempotency answer
    assert.deepEqual(await retention.sweep(), { runs: 1, idempotency: 1 });
    assert.equal(await store.getRun(ended), null);
    assert.equal((await store.getRun(open))!.status, 'running');
    assert.equal((await store.getRun(later))!.status, 'completed');
    assert.deepEqual(
      log.lines.map((l) => [l.msg, l.fields?.runs]),
      [['ended runs deleted past retention', 1]],
    );

    clock.advance(100 * HOUR); // the open run is never deleted, however old
    assert.deepEqual(await retention.sweep(), { runs: 1, idempotency: 0 });
    assert.equal((await store.getRun(open))!.status, 'running');
  });

  it('deletes in batches of the batch size with a pause between batches', async () => {
    const { clock, store, retention, pauses, start, end } = setup(HOUR, 4);
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await start());
    for (const id of ids) await end(id);
    clock.advance(HOUR + 1);
    assert.equal((await retention.sweep()).runs, 10);
    // batches of 4, 4, 2: a pause after each full batch
    assert.deepEqual(pauses, [RETENTION_PAUSE_MS, RETENTION_PAUSE_MS]);
    for (const id of ids) assert.equal(await store.getRun(id), null);
  });

  it('leaves idempotency answers to the one-day purge when the retention is longer than a day', async () => {
    const { clock, retention, start, report, end } = setup(30 * 24 * HOUR);
    const id = await start();
    await report(id, 'k-1');
    await end(id);
    clock.advance(30 * 24 * HOUR + 1);
    assert.deepEqual(await retention.sweep(), { runs: 1, idempotency: 0 });
  });

  it('sweeps every tenth of the retention, between 1 s and one minute', () => {
    const interval = (retentionMs: number) => setup(retentionMs).retention.intervalMs;
    assert.equal(interval(30 * 24 * HOUR), 60_000);
    assert.equal(interval(60_000), 6_000);
    assert.equal(interval(2_000), 1_000);
  });
});
