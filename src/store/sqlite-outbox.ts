import type Database from 'better-sqlite3';
import { encodeStoredSpan } from '../telemetry/otlp-span.js';
import { runIdOf, type SpanRecord } from '../telemetry/span-record.js';
import { deadLetterRow, type DeadLetterRow, type OutboxRow } from './run-store.js';
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

  claim(limit: number, leaseMs: number, now: number): OutboxRow[] {
    for (const [id, until] of this.leases) if (until < now) this.leases.delete(id);
    const rows: OutboxRow[] = [];
    for (const r of this.stmts.due.all(now, limit + this.leases.size)) {
      if (rows.length === limit) break;
      if (this.leases.has(r.id)) continue;
      this.leases.set(r.id, now + leaseMs);
      rows.push(toOutboxRow(r));
    }
    return rows;
  }

  private release(ids: number[]): void {
    for (const id of ids) this.leases.delete(id);
  }

  ack(ids: number[]): void {
    this.stmts.ackMany.run(JSON.stringify(ids));
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
