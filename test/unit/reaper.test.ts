import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Reaper, type ReaperStore } from '../../src/runs/reaper.js';
import { RETENTION_BATCH } from '../../src/runs/retention.js';
import { IDEMPOTENCY_TTL_MS } from '../../src/runs/run-transaction.js';
import { FakeClock, RecordingLog } from './fakes.js';

// The reaper against the two store methods it uses and a service that only reaps.

/** Stale ids served in pages of the size asked for; keeps the purge cut-offs. */
class StaleRuns implements ReaperStore {
  readonly purgedBefore: number[] = [];
  readonly purgeLimits: (number | undefined)[] = [];
  /** idempotency answers the purge has left to delete */
  answersLeft = 0;
  readonly asked: [number, number][] = [];
  constructor(private stale: string[]) {}
  async findStaleRuns(idleBefore: number, startedBefore: number, limit: number): Promise<string[]> {
    this.asked.push([idleBefore, startedBefore]);
    return this.stale.slice(0, limit);
  }
  async purgeIdempotency(before: number, limit?: number): Promise<number> {
    this.purgedBefore.push(before);
    this.purgeLimits.push(limit);
    const n = Math.min(this.answersLeft, limit ?? Infinity);
    this.answersLeft -= n;
    return n;
  }
  /** what a reap does to the store: the run is no longer stale */
  end(runId: string): void {
    this.stale = this.stale.filter((id) => id !== runId);
  }
}

describe('Reaper', () => {
  it('reaps every stale run across pages, with cut-offs from the clock, and purges day-old idempotency answers', async () => {
    const clock = new FakeClock();
    const ids = Array.from({ length: 250 }, (_, i) => `run-${i}`);
    const store = new StaleRuns(ids);
    const reaped: string[] = [];
    const service = {
      reap: async (runId: string) => {
        reaped.push(runId);
        store.end(runId);
        return true;
      },
    };
    const log = new RecordingLog();
    const reaper = new Reaper({ store, service, log, idleTimeoutMs: 60_000, maxDurationMs: 3_600_000, now: clock.now });

    assert.equal(await reaper.scan(), 250);
    assert.deepEqual(reaped, ids);
    assert.deepEqual(store.purgedBefore, [clock.time - IDEMPOTENCY_TTL_MS]);
    assert.deepEqual(store.asked, [
      [clock.time - 60_000, clock.time - 3_600_000],
      [clock.time - 60_000, clock.time - 3_600_000],
    ]);
    assert.equal(log.lines.filter((l) => l.msg === 'run reaped').length, 250);
  });

  it('stops when a page makes no progress: runs another replica ended in between are not reaped again', async () => {
    const store = new StaleRuns(Array.from({ length: 200 }, (_, i) => `run-${i}`));
    let calls = 0;
    const service = {
      reap: async () => {
        calls++;
        return false;
      },
    };
    const reaper = new Reaper({
      store,
      service,
      log: new RecordingLog(),
      idleTimeoutMs: 60_000,
      maxDurationMs: 3_600_000,
      now: new FakeClock().now,
    });
    assert.equal(await reaper.scan(), 0);
    assert.equal(calls, 200);
    assert.equal(store.asked.length, 1);
  });

  it('purges day-old idempotency answers in batches until a batch comes back short', async () => {
    const store = new StaleRuns([]);
    store.answersLeft = 2 * RETENTION_BATCH + 3;
    const clock = new FakeClock();
    const reaper = new Reaper({
      store,
      service: { reap: async () => true },
      log: new RecordingLog(),
      idleTimeoutMs: 60_000,
      maxDurationMs: 3_600_000,
      now: clock.now,
    });
    await reaper.scan();
    assert.equal(store.answersLeft, 0);
    assert.deepEqual(store.purgeLimits, [RETENTION_BATCH, RETENTION_BATCH, RETENTION_BATCH]);
    assert.deepEqual(new Set(store.purgedBefore), new Set([clock.time - IDEMPOTENCY_TTL_MS]));
  });
});
