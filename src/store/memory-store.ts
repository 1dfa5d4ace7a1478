import type { RunRecord } from '../runs/model.js';
import { encodeStoredSpan } from '../telemetry/otlp-span.js';
import { runIdOf, type SpanRecord, type StoredEvent } from '../telemetry/span-record.js';
import {
  type ActiveRuns,
  Mutex,
  type ApiKeyRecord,
  type DeadLetterRow,
  type FailedRunsQuery,
  type IdempotentAnswer,
  StoredOutboxRow,
  deadLetterRow,
  type OutboxRow,
  type RunQuery,
  type RunStore,
  type StoreTx,
  type UsageGroup,
  type UsageQuery,
} from './run-store.js';
import { listRunsIn } from './memory-list.js';
import { failedRunsIn, usageSummaryIn } from './memory-usage.js';

type DeadEntry = Omit<OutboxEntry, 'next_attempt_at' | 'lease_owner' | 'lease_until'> & { dead_at: number; reason: string };

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

interface IdempotencyEntry {
  created_at: number;
  answer: IdempotentAnswer;
}

/** Writes a transaction makes, applied to the maps only when its fn resolves. */
interface SeqEvent {
  seq: number;
  event: StoredEvent;
}

interface Staged {
  runs: Map<string, RunRecord>;
  spans: { span: SpanRecord; now: number }[];
  idempotency: Map<string, IdempotencyEntry>;
  /** each touched run's full event list as the transaction leaves it */
  events: Map<string, SeqEvent[]>;
}

/**
 * Map-based store for tests, with the same semantics as SqliteStore. Everything going in or out
 * is cloned so callers can never mutate stored state.
 */
export class MemoryStore implements RunStore {
  readonly kind = 'memory' as const;
  private mutex = new Mutex();
  private runs = new Map<string, RunRecord>();
  private events = new Map<string, SeqEvent[]>();
  private outbox = new Map<number, OutboxEntry>();
  private deadLetters = new Map<number, DeadEntry>();
  private idempotency = new Map<string, IdempotencyEntry>();
  private apiKeys = new Map<string, ApiKeyRecord>();
  private nextOutboxId = 1;
  private nextDeadId = 1;

  async init(): Promise<void> {}

  async close(): Promise<void> {
    await this.mutex.run(async () => undefined);
  }

  async ping(): Promise<void> {}

  transact<T>(_runId: string, fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.mutex.run(async () => {
      const staged: Staged = { runs: new Map(), spans: [], idempotency: new Map(), events: new Map() };
      const eventsOf = (runId: string) => {
        let list = staged.events.get(runId);
        if (!list) staged.events.set(runId, (list = [...(this.events.get(runId) ?? [])]));
        return list;
      };
      const tx: StoreTx = {
        getRun: async (runId) => clone(staged.runs.get(runId) ?? this.runs.get(runId) ?? null),
        saveRun: async (run) => void staged.runs.set(run.run_id, clone(run)),
        enqueue: async (spans, now) => {
          for (const span of spans) staged.spans.push({ span: clone(span), now });
        },
        appendEvent: async (runId, seq, event) => {
          const list = eventsOf(runId);
          if (list.some((e) => e.seq === seq)) throw new Error(`event ${seq} of run ${runId} already stored`);
          list.push({ seq, event: clone(event) });
        },
        takeEvents: async (runId) => {
          const list = eventsOf(runId).sort((a, b) => a.seq - b.seq);
          staged.events.set(runId, []);
          return clone(list.map((e) => e.event));
        },
        getIdempotent: async (scope, notBefore) => {
          const entry = staged.idempotency.get(scope) ?? this.idempotency.get(scope);
          return entry && entry.created_at >= notBefore ? clone(entry.answer) : undefined;
        },
        putIdempotent: async (scope, answer, now) => void staged.idempotency.set(scope, { created_at: now, answer: clone(answer) }),
      };
      const result = await fn(tx);
      this.commit(staged);
      return result;
    });
  }

  private commit(staged: Staged): void {
    for (const [id, run] of staged.runs) this.runs.set(id, run);
    for (const [id, list] of staged.events) {
      if (list.length) this.events.set(id, list);
      else this.events.delete(id);
    }
    for (const { span, now } of staged.spans) this.insertOutbox(encodeStoredSpan(span), runIdOf(span), now, now, 0);
    for (const [scope, entry] of staged.idempotency) this.idempotency.set(scope, entry);
  }

  private insertOutbox(stored: Uint8Array, runId: string | null, createdAt: number, nextAttemptAt: number, attempts: number): void {
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

  async getRun(runId: string): Promise<RunRecord | null> {
    return clone(this.runs.get(runId) ?? null);
  }

  async listRuns(q: RunQuery): Promise<{ runs: RunRecord[]; next_cursor: string | null }> {
    const { runs, next_cursor } = listRunsIn(this.runs.values(), q);
    return { runs: clone(runs), next_cursor };
  }

  async usageSummary(q: UsageQuery): Promise<UsageGroup[]> {
    return usageSummaryIn(this.runs.values(), q);
  }

  async failedRuns(q: FailedRunsQuery): Promise<RunRecord[]> {
    return failedRunsIn(this.runs.values(), q);
  }

  async activeRuns(): Promise<Map<string, ActiveRuns>> {
    const out = new Map<string, ActiveRuns>();
    for (const r of this.runs.values()) {
      if (r.status !== 'running') continue;
      const seen = out.get(r.project_key);
      out.set(r.project_key, { count: (seen?.count ?? 0) + 1, oldestStartedAt: Math.min(seen?.oldestStartedAt ?? Infinity, r.started_at) });
    }
    return out;
  }

  async findStaleRuns(idleBefore: number, startedBefore: number, limit: number): Promise<string[]> {
    return [...this.runs.values()]
      .filter((r) => r.status === 'running' && (r.last_activity_at < idleBefore || r.started_at < startedBefore))
      .map((r) => r.run_id)
      .sort()
      .slice(0, limit);
  }

  async outboxStats(now: number): Promise<{ depth: number; oldestAgeMs: number | null }> {
    let oldest: number | null = null;
    for (const row of this.outbox.values()) if (oldest === null || row.created_at < oldest) oldest = row.created_at;
    return { depth: this.outbox.size, oldestAgeMs: oldest === null ? null : Math.max(0, now - oldest) };
  }

  claimOutbox(owner: string, limit: number, leaseMs: number, now: number): Promise<OutboxRow[]> {
    return this.mutex.run(async () => {
      const due = [...this.outbox.values()]
        .filter((r) => r.next_attempt_at <= now && (r.lease_until === null || r.lease_until < now))
        .sort((a, b) => a.next_attempt_at - b.next_attempt_at || a.id - b.id)
        .slice(0, limit);
      for (const row of due) {
        row.lease_owner = owner;
        row.lease_until = now + leaseMs;
      }
      return due.map(toOutboxRow);
    });
  }

  ackOutbox(ids: number[]): Promise<void> {
    return this.mutex.run(async () => ids.forEach((id) => this.outbox.delete(id)));
  }

  retryOutbox(ids: number[], nextAttemptAt: number): Promise<void> {
    return this.mutex.run(async () => {
      for (const id of ids) {
        const row = this.outbox.get(id);
        if (row) Object.assign(row, { attempts: row.attempts + 1, next_attempt_at: nextAttemptAt, lease_owner: null, lease_until: null });
      }
    });
  }

  deadLetter(ids: number[], reason: string, now: number): Promise<void> {
    return this.mutex.run(async () => {
      for (const id of ids) {
        const row = this.outbox.get(id);
        if (!row) continue;
        this.insertDead(row.stored, row.run_id, row.created_at, now, row.attempts + 1, reason);
        this.outbox.delete(id);
      }
    });
  }

  recordDeadLetters(spans: SpanRecord[], reason: string, now: number): Promise<void> {
    return this.mutex.run(async () => {
      for (const span of spans) this.insertDead(encodeStoredSpan(span), runIdOf(span), now, now, 1, reason);
    });
  }

  private insertDead(stored: Uint8Array, runId: string | null, createdAt: number, deadAt: number, attempts: number, reason: string): void {
    const id = this.nextDeadId++;
    this.deadLetters.set(id, { id, run_id: runId, created_at: createdAt, attempts, stored, dead_at: deadAt, reason });
  }

  expireOutbox(createdBefore: number): Promise<number> {
    return this.mutex.run(async () => this.deleteWhere(this.outbox, (r) => r.created_at < createdBefore));
  }

  async listDeadLetters(limit: number): Promise<DeadLetterRow[]> {
    return [...this.deadLetters.values()]
      .sort((a, b) => a.id - b.id)
      .slice(0, limit)
      .map((d) => deadLetterRow(toOutboxRow(d), d.dead_at, d.reason));
  }

  async countDeadLetters(): Promise<number> {
    return this.deadLetters.size;
  }

  replayDeadLetters(ids?: number[]): Promise<number> {
    return this.mutex.run(async () => {
      const now = Date.now();
      const rows = [...this.deadLetters.values()].filter((r) => !ids || ids.includes(r.id)).sort((a, b) => a.id - b.id);
      for (const row of rows) {
        this.insertOutbox(row.stored, row.run_id, now, now, 0);
        this.deadLetters.delete(row.id);
      }
      return rows.length;
    });
  }

  purgeIdempotency(before: number, limit = Infinity): Promise<number> {
    return this.mutex.run(async () => this.deleteWhere(this.idempotency, (e) => e.created_at < before, limit));
  }

  deleteEndedRuns(endedBefore: number, limit: number): Promise<number> {
    const ended = (run: RunRecord) => run.status !== 'running' && run.last_activity_at < endedBefore;
    return this.mutex.run(async () => {
      const ids = [...this.runs.values()]
        .filter(ended)
        .slice(0, limit)
        .map((r) => r.run_id);
      for (const id of ids) [this.runs, this.events].forEach((map) => map.delete(id));
      return ids.length;
    });
  }

  putApiKey(key: ApiKeyRecord): Promise<void> {
    return this.mutex.run(async () => {
      // Same uniqueness as the SQL backends: id is the primary key, hash is unique.
      if (this.apiKeys.has(key.id) || [...this.apiKeys.values()].some((k) => k.hash === key.hash)) {
        throw new Error(`api key ${key.id} already exists`);
      }
      this.apiKeys.set(key.id, clone(key));
    });
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return clone([...this.apiKeys.values()].sort((a, b) => a.created_at - b.created_at));
  }

  revokeApiKey(id: string, now: number): Promise<boolean> {
    return this.mutex.run(async () => {
      const key = this.apiKeys.get(id);
      if (!key || key.revoked_at !== null) return false;
      key.revoked_at = now;
      return true;
    });
  }

  private deleteWhere<K, V>(map: Map<K, V>, predicate: (v: V) => boolean, limit = Infinity): number {
    let n = 0;
    for (const [k, v] of map) {
      if (n >= limit) break;
      if (predicate(v) && map.delete(k)) n++;
    }
    return n;
  }
}

function toOutboxRow(r: Pick<OutboxEntry, 'id' | 'run_id' | 'created_at' | 'attempts' | 'stored'>): OutboxRow {
  return new StoredOutboxRow(r.id, r.run_id, r.created_at, r.attempts, r.stored);
}

function clone<T>(value: T): T {
  return structuredClone(value);
}
