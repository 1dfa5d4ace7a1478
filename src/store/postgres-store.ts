import pg from 'pg';
import { PostgresBatcher } from './postgres-batch.js';
import { listRunsSql } from './postgres-list-sql.js';
import { migrate } from './postgres-migrations.js';
import { RUN_LOCK_SPACE, named } from './postgres-sql.js';
import type { RunRecord, UsageEntry } from '../runs/model.js';
import { encodeStoredSpan } from '../telemetry/otlp-span.js';
import { runIdOf, type SpanRecord } from '../telemetry/span-record.js';
import {
  type ActiveRuns,
  encodeCursor,
  type ApiKeyRecord,
  type DeadLetterRow,
  StoredOutboxRow,
  deadLetterRow,
  type OutboxRow,
  type RunQuery,
  type RunStore,
  type StoreTx,
  ENDED_STATUSES,
  type FailedRunsQuery,
  type UsageGroup,
  type UsageQuery,
} from './run-store.js';
import { sortGroups } from './memory-usage.js';
import { failedRunsSql, toUsageGroup, usageSummarySql, type UsageRow } from './usage-sql.js';

const OUTBOX_COLS = 'id, run_id, created_at, attempts, span';

/**
 * Retention batches. Ended runs are found oldest first through runs_status_activity, one ordered
 * range per status (an IN over the statuses would leave Postgres to scan); a run whose lock a
 * call holds is skipped until the next sweep. Idempotency answers go through idempotency_created.
 */
const ENDED_OLDEST_FIRST = ENDED_STATUSES.map(
  (status, i) => `SELECT * FROM (SELECT run_id FROM runs WHERE status = '${status}' AND last_activity_at < $1
     ORDER BY last_activity_at LIMIT $2) s${i}`,
).join(' UNION ALL ');
/*
 * A batch's rows are picked by `= ANY(ARRAY(subquery))`, never `IN (subquery)`: the array is an
 * InitPlan run once, then an index look-up per row. With `IN`, the generic plan Postgres keeps for
 * a prepared statement after a few runs is a hash join over a sequential scan of the whole table
 * (every outbox row read on every claim). test/postgres-plans.test.ts checks the generic plans.
 */
export const DELETE_ENDED_RUNS = `WITH gone AS (
    DELETE FROM runs WHERE run_id = ANY(ARRAY(SELECT run_id FROM (${ENDED_OLDEST_FIRST}) ended LIMIT $2))
      AND pg_try_advisory_xact_lock(${RUN_LOCK_SPACE}, hashtext(run_id))
    RETURNING run_id),
  events AS (DELETE FROM run_events WHERE run_id = ANY(ARRAY(SELECT run_id FROM gone))),
  usage AS (DELETE FROM run_usage WHERE run_id = ANY(ARRAY(SELECT run_id FROM gone)))
  SELECT COUNT(*)::int AS n FROM gone`;
export const PURGE_IDEMPOTENCY_BATCH = `DELETE FROM idempotency WHERE ctid = ANY(ARRAY(
  SELECT ctid FROM idempotency WHERE created_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED))`;
/**
 * Leases due outbox rows: $1 owner, $2 lease end, $3 now, $4 how many. The span bytes come back as
 * base64, not bytea's hex text: a third fewer bytes to read, and Node decodes base64 natively
 * (`bench/profile.ts --store=postgres`: the decoding frame 8.1 → 4.5 µs per tool call).
 */
export const CLAIM_OUTBOX = `WITH claimed AS (
    UPDATE outbox SET lease_owner = $1, lease_until = $2
    WHERE id = ANY(ARRAY(SELECT id FROM outbox WHERE next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until < $3)
                         ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED))
    RETURNING ${OUTBOX_COLS}, next_attempt_at)
  SELECT id, run_id, created_at, attempts, encode(span, 'base64') AS span FROM claimed ORDER BY next_attempt_at, id`;

type OutboxDbRow = Pick<OutboxRow, 'run_id' | 'created_at' | 'attempts'> & { id: string; span: Buffer };
type DeadDbRow = OutboxDbRow & Pick<DeadLetterRow, 'dead_at' | 'reason'>;

/** Shared store for several bridge replicas: runs serialise on advisory locks, relays claim with SKIP LOCKED. */
export class PostgresStore implements RunStore {
  readonly kind = 'postgres' as const;
  private pool: pg.Pool;
  private batcher: PostgresBatcher;
  private schema: string | undefined;
  private closed = false;

  constructor(url: string, opts: { schema?: string; poolSize?: number } = {}) {
    if (opts.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(opts.schema)) {
      throw new Error(`invalid postgres schema name: ${opts.schema}`);
    }
    this.schema = opts.schema;
    this.pool = new pg.Pool({
      connectionString: url,
      max: opts.poolSize ?? 10,
      // Statements are written without waiting for the previous answer (see PostgresTx and
      // PostgresBatcher): a transaction costs two round trips, not one per statement. Postgres
      // still runs them in order.
      pipeline: true,
      options: opts.schema ? `-c search_path=${opts.schema}` : undefined,
    });
    // An idle client losing its connection must not crash the process; the next query reports it.
    this.pool.on('error', () => undefined);
    this.batcher = new PostgresBatcher(this.pool);
  }

  async init(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await migrate(client, this.schema);
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  /** Calls arriving together share one transaction (group commit), each holding its run's lock: see PostgresBatcher. */
  transact<T>(runId: string, fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.batcher.transact(runId, fn);
  }

  getRun(runId: string): Promise<RunRecord | null> {
    return readRun(this.pool, runId);
  }

  async usageTimeline(runId: string): Promise<UsageEntry[]> {
    const { rows } = await this.pool.query<{ entry: string }>(named('SELECT entry FROM run_usage WHERE run_id = $1 ORDER BY seq', [runId]));
    return rows.map((r) => JSON.parse(r.entry) as UsageEntry);
  }

  async listRuns(q: RunQuery): Promise<{ runs: RunRecord[]; next_cursor: string | null }> {
    if (q.projects?.length === 0) return { runs: [], next_cursor: null };
    const { sql, params } = listRunsSql(q);
    const { rows } = await this.pool.query<{ doc: string }>(sql, params);
    const runs = rows.slice(0, q.limit).map((r) => JSON.parse(r.doc) as RunRecord);
    const last = runs[runs.length - 1];
    const next_cursor =
      rows.length > q.limit && last ? encodeCursor(q.sort === 'cost' ? last.totals.cost_usd : last.started_at, last.run_id) : null;
    return { runs, next_cursor };
  }

  async usageSummary(q: UsageQuery): Promise<UsageGroup[]> {
    if (q.projects?.length === 0) return [];
    const params: (string | number)[] = [];
    const sql = usageSummarySql(q, (v) => `$${params.push(v)}`);
    return sortGroups((await this.pool.query<UsageRow>(sql, params)).rows.map(toUsageGroup));
  }

  async failedRuns(q: FailedRunsQuery): Promise<RunRecord[]> {
    if (q.projects?.length === 0) return [];
    const params: (string | number)[] = [];
    const sql = failedRunsSql(q, (v) => `$${params.push(v)}`);
    return (await this.pool.query<{ doc: string }>(sql, params)).rows.map((r) => JSON.parse(r.doc) as RunRecord);
  }

  async activeRuns(): Promise<Map<string, ActiveRuns>> {
    const { rows } = await this.pool.query<{ project_key: string; n: string; oldest: number }>(
      "SELECT project_key, COUNT(*) AS n, MIN(started_at) AS oldest FROM runs WHERE status = 'running' GROUP BY project_key",
    );
    return new Map(rows.map((r) => [r.project_key, { count: Number(r.n), oldestStartedAt: Number(r.oldest) }]));
  }

  async findStaleRuns(idleBefore: number, startedBefore: number, limit: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ run_id: string }>(
      `SELECT run_id FROM runs WHERE status = 'running' AND (last_activity_at < $1 OR started_at < $2)
       ORDER BY last_activity_at LIMIT $3`,
      [idleBefore, startedBefore, limit],
    );
    return rows.map((r) => r.run_id);
  }

  async outboxStats(now: number): Promise<{ depth: number; oldestAgeMs: number | null }> {
    const sql = 'SELECT COUNT(*) AS depth, MIN(created_at) AS oldest FROM outbox';
    const r = (await this.pool.query<{ depth: string; oldest: number | null }>(named(sql))).rows[0]!;
    return { depth: Number(r.depth), oldestAgeMs: r.oldest === null ? null : Math.max(0, now - r.oldest) };
  }

  async claimOutbox(owner: string, limit: number, leaseMs: number, now: number): Promise<OutboxRow[]> {
    // Named (prepared), like the relay's other frequent statements: parsed and planned once per connection.
    const claim = named(CLAIM_OUTBOX, [owner, now + leaseMs, now, limit]);
    const { rows } = await this.pool.query<Omit<OutboxDbRow, 'span'> & { span: string }>(claim);
    return rows.map((r) => toOutboxRow(r, Buffer.from(r.span, 'base64')));
  }

  async ackOutbox(ids: number[]): Promise<void> {
    if (ids.length) await this.pool.query(named('DELETE FROM outbox WHERE id = ANY($1::bigint[])', [ids]));
  }

  async retryOutbox(ids: number[], nextAttemptAt: number): Promise<void> {
    if (ids.length === 0) return;
    await this.pool.query(
      `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1, lease_owner = NULL, lease_until = NULL
       WHERE id = ANY($2::bigint[])`,
      [nextAttemptAt, ids],
    );
  }

  async deadLetter(ids: number[], reason: string, now: number): Promise<void> {
    if (ids.length === 0) return;
    await this.pool.query(
      `WITH moved AS (DELETE FROM outbox WHERE id = ANY($3::bigint[]) RETURNING ${OUTBOX_COLS})
       INSERT INTO dead_letters (run_id, created_at, dead_at, attempts, reason, span)
       SELECT run_id, created_at, $1, attempts + 1, $2, span FROM moved ORDER BY id`,
      [now, reason, ids],
    );
  }

  async recordDeadLetters(spans: SpanRecord[], reason: string, now: number): Promise<void> {
    if (spans.length === 0) return;
    await this.pool.query(
      `INSERT INTO dead_letters (run_id, created_at, dead_at, attempts, reason, span)
       SELECT r, $1, $1, 1, $2, s FROM unnest($3::text[], $4::bytea[]) WITH ORDINALITY AS t(r, s, n) ORDER BY n`,
      [now, reason, spans.map(runIdOf), spans.map(encodeStoredSpan)],
    );
  }

  async expireOutbox(createdBefore: number): Promise<number> {
    return (await this.pool.query('DELETE FROM outbox WHERE created_at < $1', [createdBefore])).rowCount ?? 0;
  }

  async listDeadLetters(limit: number): Promise<DeadLetterRow[]> {
    const sql = `SELECT ${OUTBOX_COLS}, dead_at, reason FROM dead_letters ORDER BY id LIMIT $1`;
    const { rows } = await this.pool.query<DeadDbRow>(sql, [limit]);
    return rows.map((r) => deadLetterRow(toOutboxRow(r, r.span), r.dead_at, r.reason));
  }

  async countDeadLetters(): Promise<number> {
    return Number((await this.pool.query<{ n: string }>('SELECT COUNT(*) AS n FROM dead_letters')).rows[0]!.n);
  }

  async replayDeadLetters(ids?: number[]): Promise<number> {
    const now = Date.now();
    const res = await this.pool.query(
      `WITH moved AS (DELETE FROM dead_letters WHERE $1::bigint[] IS NULL OR id = ANY($1::bigint[]) RETURNING id, run_id, span)
       INSERT INTO outbox (run_id, created_at, next_attempt_at, attempts, span)
       SELECT run_id, $2, $2, 0, span FROM moved ORDER BY id`,
      [ids ?? null, now],
    );
    return res.rowCount ?? 0;
  }

  async purgeIdempotency(before: number, limit?: number): Promise<number> {
    if (limit === undefined) return (await this.pool.query('DELETE FROM idempotency WHERE created_at < $1', [before])).rowCount ?? 0;
    return (await this.pool.query(named(PURGE_IDEMPOTENCY_BATCH, [before, limit]))).rowCount ?? 0;
  }

  async deleteEndedRuns(endedBefore: number, limit: number): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(named(DELETE_ENDED_RUNS, [endedBefore, limit]));
    return rows[0]?.n ?? 0;
  }

  async putApiKey(key: ApiKeyRecord): Promise<void> {
    await this.pool.query(
      'INSERT INTO api_keys (id, hash, projects, created_at, revoked_at, label, scope) VALUES ($1, $2, $3::text[], $4, $5, $6, $7)',
      [key.id, key.hash, key.projects, key.created_at, key.revoked_at, key.label, key.scope],
    );
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return (await this.pool.query<ApiKeyRecord>('SELECT * FROM api_keys ORDER BY created_at')).rows;
  }

  async revokeApiKey(id: string, now: number): Promise<boolean> {
    const sql = 'UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL';
    return ((await this.pool.query(sql, [now, id])).rowCount ?? 0) > 0;
  }
}

async function readRun(db: pg.Pool | pg.PoolClient, runId: string): Promise<RunRecord | null> {
  const { rows } = await db.query<{ doc: string }>('SELECT doc FROM runs WHERE run_id = $1', [runId]);
  return rows[0] ? (JSON.parse(rows[0].doc) as RunRecord) : null;
}

/** A row as read, with its span bytes (the claim reads them as base64). */
function toOutboxRow(r: Omit<OutboxDbRow, 'span'>, span: Buffer): OutboxRow {
  // BIGSERIAL comes back as a string; ids stay far below 2^53.
  return new StoredOutboxRow(Number(r.id), r.run_id, r.created_at, r.attempts, span);
}
