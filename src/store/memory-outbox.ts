import { encodeStoredSpan } from '../telemetry/otlp-span.js';
import { runIdOf, type SpanRecord } from '../telemetry/span-record.js';
import { StoredOutboxRow, deadLetterRow, type DeadLetterRow, type OutboxRow } from './run-store.js';

interface OutboxEntry {
  id: number;
  run_id: string | null;
  created_at: number;
  attempts: number;
  stored: Uint8Array;
  next_attempt_at: number;
  lease_owner: string | null;
  lease_until: number | null;
}

type DeadEntry = Omit<OutboxEntry, 'next_attempt_at' | 'lease_owner' | 'lease_until'> & { dead_at: number; reason: string };

/**
 * The memory store's span outbox and dead letters, with the same semantics as the SQL stores'
 * tables. Not locked: MemoryStore calls it under its mutex.
 */
export class MemoryOutbox {
  private outbox = new Map<number, OutboxEntry>();
  private deadLetters = new Map<number, DeadEntry>();
  private nextOutboxId = 1;
  private nextDeadId = 1;

  insert(stored: Uint8Array, runId: string | null, createdAt: number, nextAttemptAt: number, attempts: number): void {
    const id = this.nextOutboxId++;
    const lease = { lease_owner: null, lease_until: null };
    this.outbox.set(id, {
      id,
      run_id: runId,
      created_at: createdAt,
      attempts,
      stored,
      next_attempt_at: nextAttemptAt,
      ...lease,
    });
  }

  stats(now: number): { depth: number; oldestAgeMs: number | null } {
    let oldest: number | null = null;
    for (const row of this.outbox.values()) if (oldest === null || row.created_at < oldest) oldest = row.created_at;
    return { depth: this.outbox.size, oldestAgeMs: oldest === null ? null : Math.max(0, now - oldest) };
  }

  claim(owner: string, limit: number, leaseMs: number, now: number): OutboxRow[] {
    const due = [...this.outbox.values()]
      .filter((r) => r.next_attempt_at <= now && (r.lease_until === null || r.lease_until < now))
      .sort((a, b) => a.next_attempt_at - b.next_attempt_at || a.id - b.id)
      .slice(0, limit);
    for (const row of due) {
      row.lease_owner = owner;
      row.lease_until = now + leaseMs;
    }
    return due.map(toOutboxRow);
  }

  ack(ids: number[]): void {
    ids.forEach((id) => this.outbox.delete(id));
  }

  retry(ids: number[], nextAttemptAt: number): void {
    for (const id of ids) {
      const row = this.outbox.get(id);
      if (row) Object.assign(row, { attempts: row.attempts + 1, next_attempt_at: nextAttemptAt, lease_owner: null, lease_until: null });
    }
  }

  deadLetter(ids: number[], reason: string, now: number): void {
    for (const id of ids) {
      const row = this.outbox.get(id);
      if (!row) continue;
      this.insertDead(row.stored, row.run_id, row.created_at, now, row.attempts + 1, reason);
      this.outbox.delete(id);
    }
  }

  recordDeadLetters(spans: SpanRecord[], reason: string, now: number): void {
    for (const span of spans) this.insertDead(encodeStoredSpan(span), runIdOf(span), now, now, 1, reason);
  }

  private insertDead(stored: Uint8Array, runId: string | null, createdAt: number, deadAt: number, attempts: number, reason: string): void {
    const id = this.nextDeadId++;
    this.deadLetters.set(id, { id, run_id: runId, created_at: createdAt, attempts, stored, dead_at: deadAt, reason });
  }

  /** Deletes outbox rows created before createdBefore; returns how many. */
  expire(createdBefore: number): number {
    let n = 0;
    for (const [id, row] of this.outbox) if (row.created_at < createdBefore && this.outbox.delete(id)) n++;
    return n;
  }

  listDeadLetters(limit: number): DeadLetterRow[] {
    return [...this.deadLetters.values()]
      .sort((a, b) => a.id - b.id)
      .slice(0, limit)
      .map((d) => deadLetterRow(toOutboxRow(d), d.dead_at, d.reason));
  }

  countDeadLetters(): number {
    return this.deadLetters.size;
  }

  /** Moves dead letters (all, or the given ids) back to the outbox; returns how many. */
  replayDeadLetters(ids: number[] | undefined, now: number): number {
    const rows = [...this.deadLetters.values()].filter((r) => !ids || ids.includes(r.id)).sort((a, b) => a.id - b.id);
    for (const row of rows) {
      this.insert(row.stored, row.run_id, now, now, 0);
      this.deadLetters.delete(row.id);
    }
    return rows.length;
  }
}

function toOutboxRow(r: Pick<OutboxEntry, 'id' | 'run_id' | 'created_at' | 'attempts' | 'stored'>): OutboxRow {
  return new StoredOutboxRow(r.id, r.run_id, r.created_at, r.attempts, r.stored);
}
