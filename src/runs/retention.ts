import type { Logger } from '../log.js';
import type { RunStore } from '../store/run-store.js';
import { IDEMPOTENCY_TTL_MS } from './run-transaction.js';

export type RetentionStore = Pick<RunStore, 'deleteEndedRuns' | 'purgeIdempotency'>;

/** Rows one batch deletes at most: on SQLite one write transaction of under 2 ms for 25 runs in a store of 100,000 (bench/store-growth.ts). */
export const RETENTION_BATCH = 25;
/** Pause between two batches, so tool calls queued behind one get the store first. */
export const RETENTION_PAUSE_MS = 10;

export interface RetentionOptions {
  store: RetentionStore;
  log: Logger;
  /** ended runs whose last activity is older than this are deleted */
  retentionMs: number;
  batchSize?: number;
  pauseMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * Run retention: on a timer, deletes ended runs (with their stored events) whose last activity is
 * older than the retention, in batches with a pause between them, and the idempotency answers
 * older than the retention (they answered calls on those runs). Running runs, the outbox and dead
 * letters are never touched.
 */
export class RunRetention {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<{ runs: number; idempotency: number }> | undefined;
  private stopped = false;
  readonly intervalMs: number;
  private readonly batchSize: number;

  constructor(private readonly options: RetentionOptions) {
    // a tenth of the retention, between 1 s and one minute
    this.intervalMs = Math.max(1000, Math.min(60_000, Math.floor(options.retentionMs / 10)));
    this.batchSize = options.batchSize ?? RETENTION_BATCH;
  }

  start(): void {
    this.stopped = false;
    this.timer = setInterval(
      () => void this.sweep().catch((e: unknown) => this.options.log.error('retention sweep failed', { error: String(e) })),
      this.intervalMs,
    );
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.sweeping?.catch(() => undefined);
  }

  /** One sweep; returns how many runs and idempotency answers it deleted. */
  sweep(): Promise<{ runs: number; idempotency: number }> {
    this.sweeping ??= this.sweepOnce().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async sweepOnce(): Promise<{ runs: number; idempotency: number }> {
    const { store, retentionMs } = this.options;
    const before = (this.options.now ?? Date.now)() - retentionMs;
    const runs = await this.inBatches((limit) => store.deleteEndedRuns(before, limit));
    // answers older than a day go with the reaper's purge; a shorter retention takes them earlier
    const idempotency = retentionMs < IDEMPOTENCY_TTL_MS ? await this.inBatches((limit) => store.purgeIdempotency(before, limit)) : 0;
    if (runs > 0) this.options.log.info('ended runs deleted past retention', { runs, idempotency, retention_ms: retentionMs });
    return { runs, idempotency };
  }

  private async inBatches(deleteBatch: (limit: number) => Promise<number>): Promise<number> {
    let total = 0;
    while (!this.stopped) {
      const n = await deleteBatch(this.batchSize);
      total += n;
      if (n < this.batchSize) break;
      await (this.options.sleep ?? wait)(this.options.pauseMs ?? RETENTION_PAUSE_MS);
    }
    return total;
  }
}
