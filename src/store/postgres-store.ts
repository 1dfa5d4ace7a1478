import pg from 'pg';
import { PostgresBatcher } from './postgres-batch.js';
import { named } from './postgres-sql.js';
import type { RunRecord } from '../runs/model.js';
import { runIdOf, type SpanRecord } from '../telemetry/span-record.js';
import {
  type ActiveRuns,
  decodeCursor,
  encodeCursor,
  type ApiKeyRecord,
  type DeadLetterRow,
  StoredOutboxRow,
  deadLetterRow,
  type OutboxRow,
  type RunQuery,
  type RunStore,
  type StoreTx,
} from './run-store.js';

// Documents and spans are TEXT holding JSON, not JSONB: JSONB rejects "\u0000" in strings, and
// TEXT round-trips exactly what the sqlite store stores. run_id is COLLATE "C" so paging order
// is byte order, as in sqlite, whatever the database's collation.
const MIGRATIONS: string[] = [
  `CREATE TABLE runs (
     run_id TEXT COLLATE "C" PRIMARY KEY,
     project_key TEXT NOT NULL,
     agent_id TEXT,
     status TEXT NOT NULL,
     started_at DOUBLE PRECISION NOT NULL,
     last_activity_at DOUBLE PRECISION NOT NULL,
     cost_usd DOUBLE PRECISION NOT NULL,
     parent_run_id TEXT,
     doc TEXT NOT NULL
   );
   CREATE INDEX runs_status_activity ON runs(status, last_activity_at);
   CREATE INDEX runs_status_started ON runs(status, started_at);
   CREATE INDEX runs_started ON runs(started_at DESC, run_id DESC);
   CREATE INDEX runs_project_started ON runs(project_key, started_at DESC, run_id DESC);
   CREATE INDEX runs_cost ON runs(cost_usd DESC, run_id DESC);
   CREATE INDEX runs_parent ON runs(parent_run_id) WHERE parent_run_id IS NOT NULL;
   CREATE TABLE outbox (
     id BIGSERIAL PRIMARY KEY,
     run_id TEXT,
     created_at DOUBLE PRECISION NOT NULL,
     next_attempt_at DOUBLE PRECISION NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     lease_owner TEXT,
     lease_until DOUBLE PRECISION,
     span TEXT NOT NULL
   );
   CREATE INDEX outbox_due ON outbox(next_attempt_at, id);
   CREATE TABLE dead_letters (
     id BIGSERIAL PRIMARY KEY,
     run_id TEXT,
     created_at DOUBLE PRECISION NOT NULL,
     dead_at DOUBLE PRECISION NOT NULL,
     attempts INTEGER NOT NULL,
     reason TEXT NOT NULL,
     span TEXT NOT NULL
   );
   CREATE TABLE idempotency (scope TEXT PRIMARY KEY, created_at DOUBLE PRECISION NOT NULL, response TEXT NOT NULL);
   CREATE INDEX idempotency_created ON idempotency(created_at);
   CREATE TABLE api_keys (
     id TEXT PRIMARY KEY,
     hash TEXT NOT NULL UNIQUE,
     projects TEXT[] NOT NULL,
     created_at DOUBLE PRECISION NOT NULL,
     revoked_at DOUBLE PRECISION,
     label TEXT
   );`,
  // GET /v1/runs filtered by agent, and a project's runs sorted by cost, without scanning (bench/list-runs.ts).
  `CREATE INDEX runs_agent_started ON runs(agent_id, started_at DESC, run_id DESC);
   CREATE INDEX runs_project_cost ON runs(project_key, cost_usd DESC, run_id DESC);`,
  `CREATE TABLE run_events (run_id TEXT COLLATE "C" NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL, PRIMARY KEY (run_id, seq));`,
  // Room in each page for a row's new version when a relay claims it (lease columns, not indexed):
  // the claim is then a HOT update, with no new entries in the outbox's two indexes.
  `ALTER TABLE outbox SET (fillfactor = 50);`,
  // read-only keys (Prometheus, dashboards): existing keys keep writing
  `ALTER TABLE api_keys ADD COLUMN scope TEXT NOT NULL DEFAULT 'write';`,
  // a key reused with another request body is refused, so the request it answered is kept as a hash
  `ALTER TABLE idempotency ADD COLUMN request_hash TEXT;`,
];


const OUTBOX_COLS = 'id, run_id, created_at, attempts, span';

type OutboxDbRow = Pick<OutboxRow, 'run_id' | 'created_at' | 'attempts'> & { id: string; span: string };
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
    const lockKey = `oprelay-bridge:migrate:${this.schema ?? ''}`;
    try {
      await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [lockKey]);
      try {
        if (this.schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
        await client.query('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
        const { rows } = await client.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_version');
        for (let i = rows[0]?.v ?? 0; i < MIGRATIONS.length; i++) {
          await client.query('BEGIN');
          try {
            await client.query(MIGRATIONS[i]);
            await client.query('INSERT INTO schema_version (version) VALUES ($1)', [i + 1]);
            await client.query('COMMIT');
          } catch (err) {
            await client.query('ROLLBACK');
            throw err;
          }
        }
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [lockKey]);
      }
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
    const claim = named(
      `WITH claimed AS (
         UPDATE outbox SET lease_owner = $1, lease_until = $2
         WHERE id IN (SELECT id FROM outbox WHERE next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until < $3)
                      ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)
         RETURNING ${OUTBOX_COLS}, next_attempt_at)
       SELECT ${OUTBOX_COLS} FROM claimed ORDER BY next_attempt_at, id`,
      [owner, now + leaseMs, now, limit],
    );
    const { rows } = await this.pool.query<OutboxDbRow>(claim);
    return rows.map(toOutboxRow);
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
       SELECT r, $1, $1, 1, $2, s FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS t(r, s, n) ORDER BY n`,
      [now, reason, spans.map(runIdOf), spans.map((s) => JSON.stringify(s))],
    );
  }

  async expireOutbox(createdBefore: number): Promise<number> {
    return (await this.pool.query('DELETE FROM outbox WHERE created_at < $1', [createdBefore])).rowCount ?? 0;
  }

  async listDeadLetters(limit: number): Promise<DeadLetterRow[]> {
    const sql = `SELECT ${OUTBOX_COLS}, dead_at, reason FROM dead_letters ORDER BY id LIMIT $1`;
    const { rows } = await this.pool.query<DeadDbRow>(sql, [limit]);
    return rows.map((r) => deadLetterRow(toOutboxRow(r), r.dead_at, r.reason));
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

  async purgeIdempotency(before: number): Promise<number> {
    return (await this.pool.query('DELETE FROM idempotency WHERE created_at < $1', [before])).rowCount ?? 0;
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

/**
 * The query PostgresStore.listRuns sends (one row more than the page, to tell whether another
 * follows); exported so bench/list-runs.ts can EXPLAIN exactly it. A key scoped to several projects
 * reads each project's own index range and merges them, as the sqlite store does: `project_key =
 * ANY(...)` would instead sort every matching run before taking the first page.
 */
export function listRunsSql(q: RunQuery): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const p = (value: unknown) => `$${params.push(value)}`;
  const where: string[] = [];
  const merged = q.projects && q.projects.length > 1 && !q.project_key ? q.projects : undefined;
  if (merged) where.push('project_key = scope.key');
  else if (q.projects) where.push(q.projects.length === 1 ? `project_key = ${p(q.projects[0])}` : `project_key = ANY(${p(q.projects)}::text[])`);
  if (q.project_key) where.push(`project_key = ${p(q.project_key)}`);
  if (q.status) where.push(`status = ${p(q.status)}`);
  if (q.agent_id) where.push(`agent_id = ${p(q.agent_id)}`);
  if (q.since !== undefined) where.push(`started_at >= ${p(q.since)}`);
  if (q.min_cost !== undefined) where.push(`cost_usd >= ${p(q.min_cost)}`);
  if (q.parent_run_id) where.push(`parent_run_id = ${p(q.parent_run_id)}`);
  const col = q.sort === 'cost' ? 'cost_usd' : 'started_at';
  const cursor = q.cursor ? decodeCursor(q.cursor) : undefined;
  if (cursor) where.push(`(${col}, run_id) < (${p(cursor[0])}::double precision, ${p(cursor[1])}::text)`);
  const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const order = `ORDER BY ${col} DESC, run_id DESC LIMIT ${p(q.limit + 1)}`;
  if (!merged) return { sql: `SELECT doc FROM runs ${filter} ${order}`, params };
  return {
    sql: `SELECT doc FROM unnest(${p(merged)}::text[]) AS scope(key)
      CROSS JOIN LATERAL (SELECT doc, ${col}, run_id FROM runs ${filter} ${order}) AS page ${order}`,
    params,
  };
}

async function readRun(db: pg.Pool | pg.PoolClient, runId: string): Promise<RunRecord | null> {
  const { rows } = await db.query<{ doc: string }>('SELECT doc FROM runs WHERE run_id = $1', [runId]);
  return rows[0] ? (JSON.parse(rows[0].doc) as RunRecord) : null;
}

function toOutboxRow(r: OutboxDbRow): OutboxRow {
  // BIGSERIAL comes back as a string; ids stay far below 2^53.
  return new StoredOutboxRow(Number(r.id), r.run_id, r.created_at, r.attempts, r.span);
}
