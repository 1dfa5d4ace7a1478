import type pg from 'pg';
import type { RunRecord } from '../runs/model.js';
import { runIdOf, type SpanRecord, type StoredEvent } from '../telemetry/span-record.js';
import { runColumns, type StoreTx } from './run-store.js';

/** Two-int advisory lock namespace for per-run locks (the one-bigint key space, used by init, is disjoint). */
const RUN_LOCK_SPACE = 0x6f70726c; // "oprl"

/**
 * One tool call's transaction in two round trips. BEGIN, the run's lock and a read of the locked
 * run go out together; writes are held back and sent as one statement, right before the next read
 * (so reads see them) or with COMMIT. Pipelined statements still run one after another, in order.
 */
export class PostgresTx implements StoreTx {
  /** Documents known exactly: the locked run as read under the lock, and runs saved here. */
  private known = new Map<string, string | null>();
  private runs = new Map<string, ReturnType<typeof runColumns>>();
  private outbox: { run_id: string | null; at: number; span: string }[] = [];
  private events: { run_id: string; seq: number; event: string }[] = [];
  private idempotency = new Map<string, { at: number; response: string }>();

  constructor(private readonly client: pg.PoolClient) {}

  async begin(lockKey: string): Promise<void> {
    // The read is its own statement behind the lock, so its READ COMMITTED snapshot is taken with
    // the lock held and sees the previous holder's commit; the lock also covers a run not created yet.
    const [, , read] = await Promise.all([
      this.client.query('BEGIN'),
      this.client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [RUN_LOCK_SPACE, lockKey]),
      this.client.query<{ doc: string }>('SELECT doc FROM runs WHERE run_id = $1', [lockKey]),
    ]);
    this.known.set(lockKey, read.rows[0]?.doc ?? null);
  }

  async commit(): Promise<void> {
    const [, done] = await Promise.all([this.flush(), this.client.query('COMMIT')]);
    // COMMIT of a transaction that a failed statement aborted answers ROLLBACK, not an error.
    if (done.command !== 'COMMIT') throw new Error(`postgres transaction ended with ${done.command}`);
  }

  async getRun(runId: string): Promise<RunRecord | null> {
    const known = this.known.get(runId);
    if (known !== undefined) return known === null ? null : (JSON.parse(known) as RunRecord);
    const { rows } = await this.read<{ doc: string }>('SELECT doc FROM runs WHERE run_id = $1', [runId]);
    return rows[0] ? (JSON.parse(rows[0].doc) as RunRecord) : null;
  }

  saveRun(run: RunRecord): Promise<void> {
    const c = runColumns(run);
    this.runs.set(c.run_id, c);
    this.known.set(c.run_id, c.doc);
    return Promise.resolve();
  }

  enqueue(spans: SpanRecord[], now: number): Promise<void> {
    for (const s of spans) this.outbox.push({ run_id: runIdOf(s), at: now, span: JSON.stringify(s) });
    return Promise.resolve();
  }

  appendEvent(runId: string, seq: number, event: StoredEvent): Promise<void> {
    this.events.push({ run_id: runId, seq, event: JSON.stringify(event) });
    return Promise.resolve();
  }

  async takeEvents(runId: string): Promise<StoredEvent[]> {
    const { rows } = await this.read<{ event: string }>(
      'WITH gone AS (DELETE FROM run_events WHERE run_id = $1 RETURNING seq, event) SELECT event FROM gone ORDER BY seq',
      [runId],
    );
    return rows.map((r) => JSON.parse(r.event) as StoredEvent);
  }

  async getIdempotent(scope: string, notBefore: number): Promise<unknown | undefined> {
    const sql = 'SELECT response FROM idempotency WHERE scope = $1 AND created_at >= $2';
    const { rows } = await this.read<{ response: string }>(sql, [scope, notBefore]);
    return rows[0] ? (JSON.parse(rows[0].response) as unknown) : undefined;
  }

  putIdempotent(scope: string, response: unknown, now: number): Promise<void> {
    this.idempotency.set(scope, { at: now, response: JSON.stringify(response) });
    return Promise.resolve();
  }

  /** A read, sent right behind the writes held back so far. */
  private async read<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<pg.QueryResult<R>> {
    const [, result] = await Promise.all([this.flush(), this.client.query<R>(sql, params)]);
    return result;
  }

  /** Sends the held-back writes as one statement (a CTE per table), or nothing when there are none. */
  private flush(): Promise<unknown> {
    const params: unknown[] = [];
    const unnest = (...cols: [unknown[], string][]) =>
      `unnest(${cols.map(([values, type]) => `$${params.push(values)}::${type}[]`).join(', ')})`;
    const parts: string[] = [];
    if (this.runs.size) {
      const r = [...this.runs.values()];
      parts.push(`r AS (INSERT INTO runs (run_id, project_key, agent_id, status, started_at, last_activity_at, cost_usd, parent_run_id, doc)
        SELECT * FROM ${unnest(
          [r.map((c) => c.run_id), 'text'],
          [r.map((c) => c.project_key), 'text'],
          [r.map((c) => c.agent_id), 'text'],
          [r.map((c) => c.status), 'text'],
          [r.map((c) => c.started_at), 'float8'],
          [r.map((c) => c.last_activity_at), 'float8'],
          [r.map((c) => c.cost_usd), 'float8'],
          [r.map((c) => c.parent_run_id), 'text'],
          [r.map((c) => c.doc), 'text'],
        )}
        ON CONFLICT (run_id) DO UPDATE SET project_key = excluded.project_key, agent_id = excluded.agent_id,
          status = excluded.status, started_at = excluded.started_at, last_activity_at = excluded.last_activity_at,
          cost_usd = excluded.cost_usd, parent_run_id = excluded.parent_run_id, doc = excluded.doc)`);
    }
    if (this.outbox.length) {
      const o = this.outbox;
      parts.push(`o AS (INSERT INTO outbox (run_id, created_at, next_attempt_at, span)
        SELECT r, t, t, s FROM ${unnest([o.map((x) => x.run_id), 'text'], [o.map((x) => x.at), 'float8'], [o.map((x) => x.span), 'text'])}
        WITH ORDINALITY AS u(r, t, s, n) ORDER BY n)`);
    }
    if (this.events.length) {
      const e = this.events;
      parts.push(`e AS (INSERT INTO run_events (run_id, seq, event)
        SELECT * FROM ${unnest([e.map((x) => x.run_id), 'text'], [e.map((x) => x.seq), 'int4'], [e.map((x) => x.event), 'text'])})`);
    }
    if (this.idempotency.size) {
      const i = [...this.idempotency];
      parts.push(`i AS (INSERT INTO idempotency (scope, created_at, response)
        SELECT * FROM ${unnest([i.map(([k]) => k), 'text'], [i.map(([, v]) => v.at), 'float8'], [i.map(([, v]) => v.response), 'text'])}
        ON CONFLICT (scope) DO UPDATE SET created_at = excluded.created_at, response = excluded.response)`);
    }
    if (parts.length === 0) return Promise.resolve();
    this.runs.clear();
    this.outbox = [];
    this.events = [];
    this.idempotency.clear();
    // Data-modifying CTEs all run to completion whether or not the final SELECT reads them.
    return this.client.query(`WITH ${parts.join(',\n')} SELECT 1`, params);
  }
}
