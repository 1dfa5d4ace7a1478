import { SqliteStore } from '../src/store/sqlite-store.js';
import { RunService } from '../src/runs/run-service.js';
import { noMetrics } from '../src/runs/effects.js';
import { parseToolArgs } from '../src/tools/validate.js';
import { newRunIds, reportArgs, startArgs } from './workload.js';

/**
 * Fills a bridge data dir through the real run service and store (validation, span mapping,
 * one transaction per call) but without HTTP, so seeding 100k rows takes seconds, not minutes.
 */
export class StoreFiller {
  private constructor(
    readonly store: SqliteStore,
    private readonly service: RunService,
  ) {}

  static async open(dataDir: string): Promise<StoreFiller> {
    const store = SqliteStore.inDataDir(dataDir);
    await store.init();
    const service = new RunService({ store, metrics: noMetrics, endUsage: 'final', captureContent: true, traceEntries: 'all' });
    return new StoreFiller(store, service);
  }

  /** Starts n runs (each enqueues its start_run span); returns their ids. */
  async startRuns(n: number): Promise<string[]> {
    const ids = newRunIds(n);
    for (const id of ids) await this.service.startRun(parseToolArgs('core_start_run', startArgs(id)), {});
    return ids;
  }

  /** Sends `reports` usage reports (5 trace entries each) spread over the given runs. */
  async report(runIds: string[], reports: number): Promise<void> {
    for (let i = 0; i < reports; i++) {
      await this.service.reportUsage(parseToolArgs('core_report_usage', reportArgs(runIds[i % runIds.length])), {});
    }
  }

  /** Empties the outbox through the relay's claim/ack interface (for runs-only data dirs). */
  async drainOutbox(): Promise<void> {
    for (;;) {
      const rows = await this.store.claimOutbox('bench-filler', 5000, 60_000, Date.now());
      if (rows.length === 0) return;
      await this.store.ackOutbox(rows.map((r) => r.id));
    }
  }

  async depth(): Promise<number> {
    return (await this.store.outboxStats(Date.now())).depth;
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
