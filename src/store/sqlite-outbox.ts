import type Database from 'better-sqlite3';
import { encodeStoredSpan } from '../telemetry/otlp-span.js';
import { runIdOf, type SpanRecord } from '../telemetry/span-record.js';
import { deadLetterRow, StoredOutboxRow, type DeadLetterRow, type OutboxRow } from './run-store.js';
import { toOutboxRow, type SqliteStatements } from './sqlite-statements.js';

/**
 * SQLite's span outbox and dead letters. Not locked: SqliteStore calls it with the connection to
 * itself (no group commit open).
 */
export class SqliteOutbox {
  /**
   * Outbox leases by row id. One process owns an SQLite file, so leases live here rather than in
   * the table: claiming a batch reads rows without rewriting them.
   */
  private leases = new Map<number, number>();

  constructor(
    private readonly db: Database.Database,
    private readonly stmts: SqliteStatements,
  ) {}

  stats(now: number): { depth: number; oldestAgeMs: number | null } {
    const r = this.stmts.outboxStats.get()!;
    return { depth: r.depth, oldestAgeMs: r.oldest === null ? null : Math.max(0, now - r.oldest) };
  }

  /**
   * Leases up to `limit` due rows. They are read as one row (ids and lengths, then every span joined
   * in one buffer): a buffer per row would cost more than reading it.
   */
  claim(limit: number, leaseMs: number, now: number): OutboxRow[] {
    for (const [id, until] of this.leases) if (until < now) this.leases.delete(id);
    const batch =
      this.leases.size === 0
        ? this.stmts.dueBatch.get(now, limit)!
        : this.stmts.dueBatchExcept.get(now, JSON.stringify([...this.leases.keys()]), limit)!;
    const meta = JSON.parse(batch.meta) as [id: number, runId: string | null, createdAt: number, attempts: number, length: number][];
    const rows: OutboxRow[] = [];
    let at = 0;
    for (const [id, runId, createdAt, attempts, length] of meta) {
      const span = batch.spans!.subarray(at, (at += length));
      this.leases.set(id, now + leaseMs);
      rows.push(new StoredOutboxRow(id, runId, createdAt, attempts, span));
    }
    return rows;
  }

  private release(ids: number[]): void {
    for (const id of ids) this.leases.delete(id);
  }

  ack(ids: number[]): void {
    let min = Infinity;
    let max = -Infinity;
    for (const id of ids) {
      if (id < min) min = id;
      if (id > max) max = id;
    }
    // ids are distinct: n of them spanning n integers are every id of the range, deleted in one seek
    if (ids.length > 0 && max - min + 1 === ids.length) this.stmts.ackRange.run(min, max);
    else this.stmts.ackMany.run(JSON.stringify(ids));
    this.release(ids);
  }

  retry(ids: number[], nextAttemptAt: number): void {
    this.db.transaction(() => ids.forEach((id) => this.stmts.retry.run(nextAttemptAt, id)))();
    this.release(ids);
  }

  deadLetter(ids: number[], reason: string, now: number): void {
    this.db.transaction(() => {
      for (const id of ids) {
        this.stmts.toDead.run(now, reason, id);
        this.stmts.ack.run(id);
      }
    })();
    this.release(ids);
  }

  recordDeadLetters(spans: SpanRecord[], reason: string, now: number): void {
    this.db.transaction(() => {
      for (const span of spans) this.stmts.insertDead.run(runIdOf(span), now, now, reason, encodeStoredSpan(span));
    })();
  }

  /** Deletes outbox rows created before createdBefore; returns how many. */
  expire(createdBefore: number): number {
    return this.stmts.expire.run(createdBefore).changes;
  }

  listDeadLetters(limit: number): DeadLetterRow[] {
    return this.stmts.listDead.all(limit).map((r) => deadLetterRow(toOutboxRow(r), r.dead_at, r.reason));
  }

  countDeadLetters(): number {
    return this.stmts.countDead.get()!.n;
  }

  /** Moves dead letters (all, or the given ids) back to the outbox; returns how many. */
  replayDeadLetters(ids: number[] | undefined, now: number): number {
    return this.db.transaction(() => {
      const filter = ids ? `WHERE id IN (${ids.map(() => '?').join(',')})` : '';
      const moved = this.db
        .prepare(
          `INSERT INTO outbox (run_id, created_at, next_attempt_at, attempts, span)
           SELECT run_id, ?, ?, 0, span FROM dead_letters ${filter} ORDER BY id`,
        )
        .run(now, now, ...(ids ?? [])).changes;
      this.db.prepare(`DELETE FROM dead_letters ${filter}`).run(...(ids ?? []));
      return moved;
    })();
  }
}
