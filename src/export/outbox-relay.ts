import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.js';
import type { OutboxRow, RunStore } from '../store/run-store.js';
import type { ExportResult } from '../telemetry/attributes.js';
import { OutageLog } from './outage-log.js';
import type { RowExporter, RowExportOutcome } from './row-exporter.js';
import { classify } from './span-exporter.js';

/** Batches exported at once by one relay pass (docs/architecture.md#delivery). */
const BATCHES_IN_FLIGHT = 2;

/** Full batches committed since the last pass that start the next one before the interval (noteCommitted). */
const EARLY_PASS_BATCHES = 4;

/** a Retry-After longer than this is read as a misconfigured collector, not a plan */
const MAX_RETRY_AFTER_MS = 3_600_000;

/** The store methods the relay uses: the outbox and its dead letters. */
export type OutboxStore = Pick<
  RunStore,
  'outboxStats' | 'claimOutbox' | 'ackOutbox' | 'retryOutbox' | 'deadLetter' | 'recordDeadLetters' | 'expireOutbox'
>;

export interface RelayOptions {
  store: OutboxStore;
  exporter: RowExporter;
  log: Logger;
  intervalMs: number;
  batchSize: number;
  leaseMs: number;
  maxAgeMs: number;
  maxBackoffMs: number;
  onExported?: (result: ExportResult, count: number) => void;
  now?: () => number;
}

/** Drains the outbox through the OTLP exporter: ack on success, retry with backoff, dead-letter, split on 413. */
export class OutboxRelay {
  readonly owner = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private lastExpiry = 0;
  /** spans committed since the last pass began (noteCommitted) */
  private committed = 0;
  /** whether the last pass stopped on a batch put back for a retry, or failed */
  private lastPassFailed = false;
  /** when the depth and oldest age were last read */
  private statsAt = 0;
  /** whether the timer waits out the interval (a full batch may then start an early pass instead) */
  private waitingForInterval = false;
  /** the outbox depth and oldest age as of the last tick (for backpressure and gauges) */
  depth = 0;
  oldestAgeMs: number | null = null;
  /** spans acknowledged by the collector since start */
  delivered = 0;
  private readonly now: () => number;
  /** one warning per collector outage, one line when delivery resumes */
  private readonly outage: OutageLog;

  constructor(private readonly options: RelayOptions) {
    this.now = options.now ?? Date.now;
    this.outage = new OutageLog({ log: options.log, signal: 'traces', outboxDepth: () => this.depth, now: this.now });
  }

  /** Reads the outbox depth and oldest age from the store (at start: spans may wait from before). */
  async refreshStats(): Promise<void> {
    this.statsAt = this.now();
    const stats = await this.options.store.outboxStats(this.statsAt);
    this.depth = stats.depth;
    this.oldestAgeMs = stats.oldestAgeMs;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0, false);
  }

  /**
   * Spans committed to the outbox since the last pass began. EARLY_PASS_BATCHES full batches start a
   * pass at once, as OpenTelemetry's batch span processor exports a full batch without waiting for
   * its delay: a busy outbox drains in a few batches at a time instead of one burst per interval,
   * which held calls up behind it. After a pass that failed, the next one waits for the interval
   * (and the rows' own backoff).
   */
  noteCommitted(count: number): void {
    this.committed += count;
    if (this.waitingForInterval && !this.running && this.earlyPassDue()) this.schedule(0, true);
  }

  private earlyPassDue(): boolean {
    return this.committed >= EARLY_PASS_BATCHES * this.options.batchSize && !this.lastPassFailed && !this.stopped;
  }

  /**
   * The next pass, after delayMs: a whole one (what is due, batch after batch), or an early one that
   * takes only the full batches committed since the last pass and leaves the rest for more spans or
   * for the interval.
   */
  private schedule(delayMs: number, early: boolean): void {
    clearTimeout(this.timer);
    this.waitingForInterval = !early && delayMs > 0;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.waitingForInterval = false;
      if (this.stopped) return;
      this.tick(early ? Math.floor(this.committed / this.options.batchSize) : Infinity)
        .catch((err: unknown) => {
          this.lastPassFailed = true;
          this.options.log.error('relay tick failed', { error: String(err) });
        })
        .finally(() => {
          if (this.stopped) return;
          if (this.earlyPassDue()) this.schedule(0, true);
          else this.schedule(this.options.intervalMs, false);
        });
    }, delayMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.waitingForInterval = false;
    await this.running;
  }

  /** One pass: expire old rows, then export due batches until none is left, a batch fails, or `batches` went out. */
  tick(batches = Infinity): Promise<void> {
    if (this.running) return this.running;
    this.running = this.pass(batches).finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(batches: number): Promise<void> {
    // spans committed from now on count towards the next early pass; what this pass leaves still counts
    this.committed = batches === Infinity ? 0 : Math.max(0, this.committed - batches * this.options.batchSize);
    const now = this.now();
    if (now - this.lastExpiry > 60_000) {
      this.lastExpiry = now;
      const expired = await this.options.store.expireOutbox(now - this.options.maxAgeMs);
      if (expired > 0) {
        this.options.log.warn('outbox rows expired undelivered', { count: expired, max_age_ms: this.options.maxAgeMs });
        this.options.onExported?.('expired', expired);
      }
    }
    // up to BATCHES_IN_FLIGHT batches at once: the next claim (and the last batch's ack) overlaps
    // the export of the one before, instead of the store and the collector waiting on each other
    const inFlight = new Set<Promise<void>>();
    let failed = false;
    let error: unknown;
    try {
      for (;;) {
        // a margin before the store's lease runs out, measured on this process's monotonic clock
        const leaseEnd = performance.now() + this.options.leaseMs * 0.9;
        const rows = await this.options.store.claimOutbox(this.owner, this.options.batchSize, this.options.leaseMs, this.now());
        if (rows.length === 0) break;
        const exported: Promise<void> = this.exportRows(rows, leaseEnd)
          .then(
            (delivered) => void (failed ||= !delivered),
            (err: unknown) => {
              failed = true;
              error ??= err;
            },
          )
          .finally(() => inFlight.delete(exported));
        inFlight.add(exported);
        if (rows.length < this.options.batchSize || --batches <= 0) break;
        if (inFlight.size >= BATCHES_IN_FLIGHT) await Promise.race(inFlight);
        if (failed) break;
      }
    } finally {
      await Promise.all(inFlight); // none rejects: a failure is kept in `error`
      this.lastPassFailed = failed;
    }
    if (error !== undefined) throw error;
    // an early pass leaves the depth gauge to the next pass on the interval: counting a busy outbox costs
    if (batches === Infinity || this.now() - this.statsAt >= this.options.intervalMs) await this.refreshStats();
  }

  /** Exports rows; returns false when they had to be put back for a retry. */
  private async exportRows(rows: OutboxRow[], leaseEnd: number): Promise<boolean> {
    const outcome = await this.exportWithinLease(rows, leaseEnd);
    const ids = rows.map((r) => r.id);
    if (outcome.ok) {
      const partial = outcome.partial;
      if (partial) {
        const reason = `partial success: collector rejected ${partial.rejected} of ${rows.length} spans: ${partial.message}`;
        this.options.log.warn('collector rejected part of a batch', {
          rejected: partial.rejected,
          batch: rows.length,
          reason: partial.message,
        });
        await this.options.store.recordDeadLetters(
          rows.map((r) => r.span),
          reason,
          this.now(),
        );
        this.options.onExported?.('partial_rejected', partial.rejected);
      }
      await this.options.store.ackOutbox(ids);
      this.delivered += rows.length;
      if (this.outage.failing) {
        await this.refreshStats();
        this.outage.delivered({ spans: rows.length });
      }
      this.options.onExported?.('success', rows.length - (partial?.rejected ?? 0));
      return true;
    }
    const action = classify(outcome);
    if (action === 'split') {
      if (rows.length === 1) return this.deadLetter(rows, `HTTP 413: span too large for the collector: ${outcome.message}`);
      const half = Math.ceil(rows.length / 2);
      const a = await this.exportRows(rows.slice(0, half), leaseEnd);
      const b = await this.exportRows(rows.slice(half), leaseEnd);
      return a && b;
    }
    if (action === 'dead_letter') return this.deadLetter(rows, `HTTP ${outcome.status}: ${outcome.message}`);
    const attempts = Math.max(...rows.map((r) => r.attempts)) + 1;
    const backoff = Math.min(this.options.maxBackoffMs, this.options.intervalMs * 2 ** Math.min(attempts, 20));
    // the collector knows when it can take more (429/503 Retry-After); our own backoff otherwise
    const delay =
      outcome.retryAfterMs !== undefined
        ? Math.min(outcome.retryAfterMs, MAX_RETRY_AFTER_MS)
        : Math.round(backoff * (0.5 + Math.random() * 0.5));
    await this.options.store.retryOutbox(ids, this.now() + delay);
    if (!this.outage.failing) await this.refreshStats();
    this.outage.failed(outcome.message, {
      status: outcome.status ?? null,
      spans: rows.length,
      attempts,
      retry_in_ms: delay,
      ...(outcome.retryAfterMs !== undefined ? { retry_after_ms: outcome.retryAfterMs } : {}),
    });
    this.options.onExported?.('retry', rows.length);
    return false;
  }

  /**
   * The exporter's answer, or a retryable failure when the claim's lease is about to run out first
   * (a collector slower than the lease): past the lease another replica may claim and resend the
   * rows, and putting them back for a retry then would clear that replica's lease.
   */
  private async exportWithinLease(rows: OutboxRow[], leaseEnd: number): Promise<RowExportOutcome> {
    let timer: NodeJS.Timeout | undefined;
    const leaseOver = new Promise<RowExportOutcome>((resolve) => {
      const message = `no answer from the collector within the ${this.options.leaseMs} ms outbox lease (BRIDGE_OUTBOX_LEASE)`;
      timer = setTimeout(() => resolve({ ok: false, message }), Math.max(0, leaseEnd - performance.now()));
    });
    try {
      return await Promise.race([this.options.exporter.export(rows), leaseOver]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async deadLetter(rows: OutboxRow[], reason: string): Promise<boolean> {
    await this.options.store.deadLetter(
      rows.map((r) => r.id),
      reason,
      this.now(),
    );
    this.options.log.error('batch dead-lettered', {
      spans: rows.length,
      reason,
      run_ids: [...new Set(rows.map((r) => r.run_id))].slice(0, 20),
    });
    this.options.onExported?.('dead_letter', rows.length);
    return true;
  }

  /**
   * Exports what is due, for shutdown: passes until the outbox is empty, a pass delivers nothing
   * (the collector is down; rows stay stored for the next start) or the deadline passes.
   */
  async flush(deadline: number): Promise<void> {
    while (this.now() < deadline) {
      const before = this.delivered;
      await this.tick();
      if (this.depth === 0 || this.delivered === before) return;
    }
  }
}
