import type { Logger } from '../log.js';
import type { RunStore } from '../store/run-store.js';
import type { RunService } from './run-service.js';
import { RETENTION_BATCH } from './retention.js';
import { IDEMPOTENCY_TTL_MS } from './run-transaction.js';

/** The store methods the reaper uses: finding stale runs and purging old idempotency answers. */
export type ReaperStore = Pick<RunStore, 'findStaleRuns' | 'purgeIdempotency'>;

export interface ReaperOptions {
  store: ReaperStore;
  /** ends one run; false when it is no longer stale */
  service: Pick<RunService, 'reap'>;
  log: Logger;
  idleTimeoutMs: number;
  maxDurationMs: number;
  now?: () => number;
}

/** Ends runs idle past the idle timeout or older than the max duration as `interrupted`; purges expired idempotency answers. */
export class Reaper {
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<number> | undefined;
  readonly intervalMs: number;

  constructor(private readonly options: ReaperOptions) {
    // at least every quarter of the idle timeout, capped at one minute
    this.intervalMs = Math.max(10, Math.min(60_000, Math.floor(options.idleTimeoutMs / 4)));
  }

  start(): void {
    this.timer = setInterval(
      () => void this.scan().catch((e: unknown) => this.options.log.error('reaper scan failed', { error: String(e) })),
      this.intervalMs,
    );
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.scanning?.catch(() => undefined);
  }

  /** One scan; returns how many runs this replica ended. */
  scan(): Promise<number> {
    this.scanning ??= this.scanOnce().finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  private async scanOnce(): Promise<number> {
    const now = (this.options.now ?? Date.now)();
    const idleBefore = now - this.options.idleTimeoutMs;
    const startedBefore = now - this.options.maxDurationMs;
    // housekeeping on the same beat: idempotency answers are kept for 24 h only (in batches, see retention.ts)
    while ((await this.options.store.purgeIdempotency(now - IDEMPOTENCY_TTL_MS, RETENTION_BATCH)) === RETENTION_BATCH);
    let ended = 0;
    for (;;) {
      const ids = await this.options.store.findStaleRuns(idleBefore, startedBefore, 200);
      let progressed = 0;
      for (const id of ids) {
        if (await this.options.service.reap(id, idleBefore, startedBefore)) {
          progressed++;
          this.options.log.info('run reaped', { run_id: id });
        }
      }
      ended += progressed;
      if (ids.length < 200 || progressed === 0) return ended;
    }
  }
}
