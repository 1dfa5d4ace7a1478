import type Database from 'better-sqlite3';
import { StoredOutboxRow, type ApiKeyRecord, type OutboxRow, type StoredSpanValue } from './run-store.js';

export interface RunRow {
  doc: string;
}
export interface OutboxDbRow {
  id: number;
  run_id: string | null;
  created_at: number;
  attempts: number;
  /** a BLOB (the encoded span), or TEXT (JSON) in rows written by earlier versions */
  span: StoredSpanValue;
}
/**
 * Due outbox rows read as one row: `meta` a JSON array of [id, run_id, created_at, attempts, byte length]
 * per row, `spans` every row's span joined in the same order (one buffer instead of one per row).
 */
export interface DueBatchRow {
  meta: string;
  spans: Buffer | null;
}
export interface DeadDbRow extends OutboxDbRow {
  dead_at: number;
  reason: string;
}
export interface KeyDbRow extends Omit<ApiKeyRecord, 'projects'> {
  projects: string;
}

export function toOutboxRow(r: OutboxDbRow): OutboxRow {
  return new StoredOutboxRow(r.id, r.run_id, r.created_at, r.attempts, r.span);
}

/** Statements without parameters or rows worth typing. */
type PlainStatement =
  | 'upsertRun'
  | 'updateActivity'
  | 'updateUsage'
  | 'appendEvent'
  | 'appendUsage'
  | 'dropEvents'
  | 'putIdem'
  | 'ack'
  | 'ackMany'
  | 'ackRange'
  | 'retry'
  | 'begin'
  | 'commit'
  | 'savepoint'
  | 'release'
  | 'toDead'
  | 'insertDead'
  | 'expire'
  | 'purgeIdem'
  | 'putKey'
  | 'revokeKey';

export type SqliteStatements = Record<PlainStatement, Database.Statement> & {
  getRun: Database.Statement<[string], RunRow>;
  events: Database.Statement<[string], { event: string }>;
  usageTimeline: Database.Statement<[string], { entry: string }>;
  getIdem: Database.Statement<[string, number], { response: string; request_hash: string | null }>;
  activeRuns: Database.Statement<[], { project_key: string; n: number; oldest: number }>;
  stale: Database.Statement<[number, number, number], { run_id: string }>;
  outboxStats: Database.Statement<[], { depth: number; oldest: number | null }>;
  dueBatch: Database.Statement<[number, number], DueBatchRow>;
  /** dueBatch but for the ids in a JSON array (rows leased already) */
  dueBatchExcept: Database.Statement<[number, string, number], DueBatchRow>;
  listDead: Database.Statement<[number], DeadDbRow>;
  countDead: Database.Statement<[], { n: number }>;
  listKeys: Database.Statement<[], KeyDbRow>;
};

/**
 * Due rows as one row. Both aggregates take the subquery's rows in the one order they are read in,
 * so entry i of `meta` describes segment i of `spans` (no ORDER BY inside them: it would sort twice).
 */
function dueBatchSql(exceptLeased: string): string {
  return `SELECT json_group_array(json_array(id, run_id, created_at, attempts, octet_length(span))) AS meta,
       CAST(group_concat(span, '') AS BLOB) AS spans
     FROM (SELECT id, run_id, created_at, attempts, span FROM outbox
           WHERE next_attempt_at <= ? ${exceptLeased} ORDER BY next_attempt_at, id LIMIT ?)`;
}

/** Every statement the store runs more than once, prepared once after the migrations. */
export function prepareStatements(db: Database.Database): SqliteStatements {
  return {
    getRun: db.prepare<[string], RunRow>('SELECT doc FROM runs WHERE run_id = ?'),
    upsertRun: db.prepare(
      `INSERT INTO runs (run_id, project_key, agent_id, status, started_at, last_activity_at, cost_usd, parent_run_id,
         input_tokens, output_tokens, total_tokens, llm_calls, failures, agent, model, last_failure_at, doc)
       VALUES (@run_id, @project_key, @agent_id, @status, @started_at, @last_activity_at, @cost_usd, @parent_run_id,
         @input_tokens, @output_tokens, @total_tokens, @llm_calls, @failures, @agent, @model, @last_failure_at, @doc)
       ON CONFLICT(run_id) DO UPDATE SET project_key = excluded.project_key, agent_id = excluded.agent_id,
         status = excluded.status, started_at = excluded.started_at, last_activity_at = excluded.last_activity_at,
         cost_usd = excluded.cost_usd, parent_run_id = excluded.parent_run_id, input_tokens = excluded.input_tokens,
         output_tokens = excluded.output_tokens, total_tokens = excluded.total_tokens, llm_calls = excluded.llm_calls,
         failures = excluded.failures, agent = excluded.agent, model = excluded.model,
         last_failure_at = excluded.last_failure_at, doc = excluded.doc`,
    ),
    // a report changes only these columns: updating just them leaves the other indexes untouched
    updateActivity: db.prepare('UPDATE runs SET last_activity_at = ?, doc = ? WHERE run_id = ?'),
    updateUsage: db.prepare(
      `UPDATE runs SET last_activity_at = @last_activity_at, cost_usd = @cost_usd, input_tokens = @input_tokens,
         output_tokens = @output_tokens, total_tokens = @total_tokens, llm_calls = @llm_calls, failures = @failures,
         model = @model, last_failure_at = @last_failure_at, doc = @doc WHERE run_id = @run_id`,
    ),
    appendEvent: db.prepare('INSERT INTO run_events (run_id, seq, event) VALUES (?, ?, ?)'),
    events: db.prepare<[string], { event: string }>('SELECT event FROM run_events WHERE run_id = ? ORDER BY seq'),
    dropEvents: db.prepare('DELETE FROM run_events WHERE run_id = ?'),
    appendUsage: db.prepare('INSERT INTO run_usage (run_id, seq, entry) VALUES (?, ?, ?)'),
    usageTimeline: db.prepare<[string], { entry: string }>('SELECT entry FROM run_usage WHERE run_id = ? ORDER BY seq'),
    getIdem: db.prepare<[string, number], { response: string; request_hash: string | null }>(
      'SELECT response, request_hash FROM idempotency WHERE scope = ? AND created_at >= ?',
    ),
    putIdem: db.prepare('INSERT OR REPLACE INTO idempotency (scope, created_at, response, request_hash) VALUES (?, ?, ?, ?)'),
    activeRuns: db.prepare<[], { project_key: string; n: number; oldest: number }>(
      "SELECT project_key, COUNT(*) AS n, MIN(started_at) AS oldest FROM runs WHERE status = 'running' GROUP BY project_key",
    ),
    stale: db.prepare<[number, number, number], { run_id: string }>(
      `SELECT run_id FROM runs WHERE status = 'running' AND last_activity_at < ?
       UNION SELECT run_id FROM runs WHERE status = 'running' AND started_at < ? LIMIT ?`,
    ),
    outboxStats: db.prepare<[], { depth: number; oldest: number | null }>(
      'SELECT COUNT(*) AS depth, MIN(created_at) AS oldest FROM outbox',
    ),
    dueBatch: db.prepare<[number, number], DueBatchRow>(dueBatchSql('')),
    dueBatchExcept: db.prepare<[number, string, number], DueBatchRow>(dueBatchSql('AND id NOT IN (SELECT value FROM json_each(?))')),
    ack: db.prepare('DELETE FROM outbox WHERE id = ?'),
    ackMany: db.prepare('DELETE FROM outbox WHERE id IN (SELECT value FROM json_each(?))'),
    ackRange: db.prepare('DELETE FROM outbox WHERE id BETWEEN ? AND ?'),
    retry: db.prepare('UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ? WHERE id = ?'),
    begin: db.prepare('BEGIN IMMEDIATE'),
    commit: db.prepare('COMMIT'),
    savepoint: db.prepare('SAVEPOINT call'),
    release: db.prepare('RELEASE call'),
    toDead: db.prepare(
      `INSERT INTO dead_letters (run_id, created_at, dead_at, attempts, reason, span)
       SELECT run_id, created_at, ?, attempts + 1, ?, span FROM outbox WHERE id = ?`,
    ),
    insertDead: db.prepare('INSERT INTO dead_letters (run_id, created_at, dead_at, attempts, reason, span) VALUES (?, ?, ?, 1, ?, ?)'),
    expire: db.prepare('DELETE FROM outbox WHERE created_at < ?'),
    listDead: db.prepare<[number], DeadDbRow>(
      'SELECT id, run_id, created_at, dead_at, attempts, reason, span FROM dead_letters ORDER BY id LIMIT ?',
    ),
    countDead: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM dead_letters'),
    purgeIdem: db.prepare('DELETE FROM idempotency WHERE created_at < ?'),
    putKey: db.prepare(
      'INSERT INTO api_keys (id, hash, projects, created_at, revoked_at, label, scope) VALUES (@id, @hash, @projects, @created_at, @revoked_at, @label, @scope)',
    ),
    listKeys: db.prepare<[], KeyDbRow>('SELECT * FROM api_keys ORDER BY created_at'),
    revokeKey: db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
  };
}

/** One INSERT of n outbox rows, prepared once per n: a call's spans go in with one statement. */
export class EnqueueStatements {
  private readonly byCount: Database.Statement[] = [];
  constructor(private readonly db: Database.Database) {}

  forRows(n: number): Database.Statement {
    let stmt = this.byCount[n];
    if (!stmt) {
      const rows = Array.from({ length: n }, () => '(?, ?, ?, ?)').join(', ');
      stmt = this.byCount[n] = this.db.prepare(`INSERT INTO outbox (run_id, created_at, next_attempt_at, span) VALUES ${rows}`);
    }
    return stmt;
  }
}
