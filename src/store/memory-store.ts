import type { RunRecord, UsageEntry } from '../runs/model.js';
import { encodeStoredSpan } from '../telemetry/otlp-span.js';
import { runIdOf, type SpanRecord, type StoredEvent } from '../telemetry/span-record.js';
import {
  type ActiveRuns,
  Mutex,
  type ApiKeyRecord,
  type DeadLetterRow,
  type FailedRunsQuery,
  type IdempotentAnswer,
  type OutboxRow,
  type RunQuery,
  type RunStore,
  type StoreTx,
  type UsageGroup,
  type UsageQuery,
} from './run-store.js';
import { listRunsIn } from './memory-list.js';
import { MemoryOutbox } from './memory-outbox.js';
import { failedRunsIn, usageSummaryIn } from './memory-usage.js';

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
  usage: { runId: string; entry: UsageEntry }[];
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
  private usage = new Map<string, UsageEntry[]>();
  private outbox = new MemoryOutbox();
  private idempotency = new Map<string, IdempotencyEntry>();
  private apiKeys = new Map<string, ApiKeyRecord>();

  async init(): Promise<void> {}

  async close(): Promise<void> {
    await this.mutex.run(async () => undefined);
  }

  async ping(): Promise<void> {}

  transact<T>(_runId: string, fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.mutex.run(async () => {
      const staged: Staged = { runs: new Map(), spans: [], idempotency: new Map(), events: new Map(), usage: [] };
      const eventsOf = (runId: string) => {
        let list = staged.events.get(runId);
        if (!list) staged.events.set(runId, (list = [...(this.events.get(runId) ?? [])]));
        return list;
      };
      const held = new Map<string, RunRecord | null>();
      const tx: StoreTx = {
        getRun: async (runId) => {
          if (!held.has(runId)) held.set(runId, clone(staged.runs.get(runId) ?? this.runs.get(runId) ?? null));
          return held.get(runId)!;
        },
        saveRun: async (run) => {
          staged.runs.set(run.run_id, clone(run));
          held.set(run.run_id, run);
        },
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
        appendUsage: async (runId, _seq, entry) => void staged.usage.push({ runId, entry: clone(entry) }),
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
    for (const { span, now } of staged.spans) this.outbox.insert(encodeStoredSpan(span), runIdOf(span), now, now, 0);
    for (const [scope, entry] of staged.idempotency) this.idempotency.set(scope, entry);
    for (const { runId, entry } of staged.usage) this.usage.set(runId, [...(this.usage.get(runId) ?? []), entry]);
  }

  async usageTimeline(runId: string): Promise<UsageEntry[]> {
    return clone(this.usage.get(runId) ?? []);
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
    return this.outbox.stats(now);
  }

  claimOutbox(owner: string, limit: number, leaseMs: number, now: number): Promise<OutboxRow[]> {
    return this.mutex.run(async () => this.outbox.claim(owner, limit, leaseMs, now));
  }

  ackOutbox(ids: number[]): Promise<void> {
    return this.mutex.run(async () => this.outbox.ack(ids));
  }

  retryOutbox(ids: number[], nextAttemptAt: number): Promise<void> {
    return this.mutex.run(async () => this.outbox.retry(ids, nextAttemptAt));
  }

  deadLetter(ids: number[], reason: string, now: number): Promise<void> {
    return this.mutex.run(async () => this.outbox.deadLetter(ids, reason, now));
  }

  recordDeadLetters(spans: SpanRecord[], reason: string, now: number): Promise<void> {
    return this.mutex.run(async () => this.outbox.recordDeadLetters(spans, reason, now));
  }

  expireOutbox(createdBefore: number): Promise<number> {
    return this.mutex.run(async () => this.outbox.expire(createdBefore));
  }

  async listDeadLetters(limit: number): Promise<DeadLetterRow[]> {
    return this.outbox.listDeadLetters(limit);
  }

  async countDeadLetters(): Promise<number> {
    return this.outbox.countDeadLetters();
  }

  replayDeadLetters(ids?: number[]): Promise<number> {
    return this.mutex.run(async () => this.outbox.replayDeadLetters(ids, Date.now()));
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
      for (const id of ids) [this.runs, this.events, this.usage].forEach((map) => map.delete(id));
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

function clone<T>(value: T): T {
  return structuredClone(value);
}
