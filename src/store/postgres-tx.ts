import type pg from 'pg';
import type { RunRecord, UsageEntry } from '../runs/model.js';
import { encodeStoredSpan } from '../telemetry/otlp-span.js';
import { runIdOf, type SpanRecord, type StoredEvent } from '../telemetry/span-record.js';
import { named, pgArray, type ElementType } from './postgres-sql.js';
import { runColumns, type IdempotentAnswer, type StoreTx } from './run-store.js';

const READ_SQL = 'SELECT doc FROM runs WHERE run_id = $1';

/**
 * One tool call's part of a transaction (several calls may share one: see PostgresBatcher), begun
 * once the call holds its run's lock. Reads go out at once, pipelined behind the statements already
 * sent; writes — taking events included — are only held here, and sent for all the transaction's
 * calls in one statement with COMMIT (writeAll). So reads change nothing, and a call that fails
 * leaves nothing behind: its writes are dropped.
 */
export class PostgresTx implements StoreTx {
  /** Each run as this call holds it: read once, then the same object (see StoreTx.getRun). */
  private readonly held = new Map<string, RunRecord | null>();
  readonly runs = new Map<string, ReturnType<typeof runColumns>>();
  readonly outbox: { run_id: string | null; at: number; span: Buffer }[] = [];
  events: { run_id: string; seq: number; event: string }[] = [];
  readonly usage: { run_id: string; seq: number; entry: string }[] = [];
  /** runs whose stored events this call took (deleted on commit) */
  readonly taken = new Set<string>();
  readonly idempotency = new Map<string, { at: number; response: string; hash: string | null }>();

  /** lockedDoc: the document of the run the call locked, as read after taking the lock (null: no such run yet). */
  constructor(
    private readonly client: pg.ClientBase,
    private readonly lockKey: string,
    private readonly lockedDoc: string | null,
  ) {}

  /** Whether this call holds writes to send. */
  get dirty(): boolean {
    return (
      this.runs.size > 0 ||
      this.outbox.length > 0 ||
      this.events.length > 0 ||
      this.usage.length > 0 ||
      this.taken.size > 0 ||
      this.idempotency.size > 0
    );
  }

  async getRun(runId: string): Promise<RunRecord | null> {
    const known = this.held.get(runId);
    if (known !== undefined) return known;
    const doc =
      runId === this.lockKey ? this.lockedDoc : ((await this.client.query<{ doc: string }>(named(READ_SQL, [runId]))).rows[0]?.doc ?? null);
    const run = doc === null ? null : (JSON.parse(doc) as RunRecord);
    this.held.set(runId, run);
    return run;
  }

  saveRun(run: RunRecord): Promise<void> {
    const c = runColumns(run);
    this.runs.set(c.run_id, c);
    this.held.set(c.run_id, run);
    return Promise.resolve();
  }

  enqueue(spans: SpanRecord[], now: number): Promise<void> {
    for (const s of spans) this.outbox.push({ run_id: runIdOf(s), at: now, span: encodeStoredSpan(s) });
    return Promise.resolve();
  }

  appendEvent(runId: string, seq: number, event: StoredEvent): Promise<void> {
    this.events.push({ run_id: runId, seq, event: JSON.stringify(event) });
    return Promise.resolve();
  }

  appendUsage(runId: string, seq: number, entry: UsageEntry): Promise<void> {
    this.usage.push({ run_id: runId, seq, entry: JSON.stringify(entry) });
    return Promise.resolve();
  }

  /** The stored events (unless taken before in this call) and the ones appended here; deleted on commit. */
  async takeEvents(runId: string): Promise<StoredEvent[]> {
    const stored = this.taken.has(runId)
      ? []
      : (
          await this.client.query<{ seq: number; event: string }>(
            named('SELECT seq, event FROM run_events WHERE run_id = $1 ORDER BY seq', [runId]),
          )
        ).rows;
    this.taken.add(runId);
    const mine = this.events.filter((e) => e.run_id === runId);
    this.events = this.events.filter((e) => e.run_id !== runId);
    return [...stored, ...mine].sort((a, b) => a.seq - b.seq).map((r) => JSON.parse(r.event) as StoredEvent);
  }

  async getIdempotent(scope: string, notBefore: number): Promise<IdempotentAnswer | undefined> {
    const mine = this.idempotency.get(scope);
    if (mine) return mine.at >= notBefore ? { response: JSON.parse(mine.response) as unknown, request_hash: mine.hash } : undefined;
    const sql = 'SELECT response, request_hash FROM idempotency WHERE scope = $1 AND created_at >= $2';
    const { rows } = await this.client.query<{ response: string; request_hash: string | null }>(named(sql, [scope, notBefore]));
    return rows[0] ? { response: JSON.parse(rows[0].response) as unknown, request_hash: rows[0].request_hash } : undefined;
  }

  putIdempotent(scope: string, answer: IdempotentAnswer, now: number): Promise<void> {
    this.idempotency.set(scope, { at: now, response: JSON.stringify(answer.response), hash: answer.request_hash });
    return Promise.resolve();
  }
}

/**
 * The writes of several calls (in the order they finished) as one statement, a CTE per table, or
 * undefined when there are none. Data-modifying CTEs all see the statement's snapshot, so the delete
 * of taken events never removes events inserted by the same statement (calls sharing a transaction
 * hold different locks, so they never touch the same run's events). A run or idempotency scope
 * written by several calls keeps the last one's version, as consecutive transactions would.
 */
export function writeAll(txs: PostgresTx[]): pg.QueryConfig | undefined {
  const runs = new Map<string, ReturnType<typeof runColumns>>();
  const idem = new Map<string, { at: number; response: string; hash: string | null }>();
  const outbox: PostgresTx['outbox'] = [];
  const events: PostgresTx['events'] = [];
  const usage: PostgresTx['usage'] = [];
  const taken = new Set<string>();
  for (const tx of txs) {
    for (const [id, c] of tx.runs) runs.set(id, c);
    for (const [scope, v] of tx.idempotency) idem.set(scope, v);
    outbox.push(...tx.outbox);
    for (const run of tx.taken) taken.add(run);
    events.push(...tx.events);
    usage.push(...tx.usage);
  }
  const params: unknown[] = [];
  /** columns sent as binary arrays (pgArray), read back row by row */
  const unnest = (...cols: [ElementType, (string | number | Uint8Array | null)[]][]) =>
    `unnest(${cols.map(([type, values]) => `$${params.push(pgArray(type, values))}::${type}[]`).join(', ')})`;
  const parts: string[] = [];
  if (runs.size) {
    const r = [...runs.values()];
    parts.push(`r AS (INSERT INTO runs (run_id, project_key, agent_id, status, started_at, last_activity_at, cost_usd, parent_run_id,
        input_tokens, output_tokens, total_tokens, llm_calls, failures, agent, model, last_failure_at, doc)
      SELECT * FROM ${unnest(
        ['text', r.map((c) => c.run_id)],
        ['text', r.map((c) => c.project_key)],
        ['text', r.map((c) => c.agent_id)],
        ['text', r.map((c) => c.status)],
        ['float8', r.map((c) => c.started_at)],
        ['float8', r.map((c) => c.last_activity_at)],
        ['float8', r.map((c) => c.cost_usd)],
        ['text', r.map((c) => c.parent_run_id)],
        ['int8', r.map((c) => c.input_tokens)],
        ['int8', r.map((c) => c.output_tokens)],
        ['int8', r.map((c) => c.total_tokens)],
        ['int8', r.map((c) => c.llm_calls)],
        ['int8', r.map((c) => c.failures)],
        ['text', r.map((c) => c.agent)],
        ['text', r.map((c) => c.model)],
        ['float8', r.map((c) => c.last_failure_at)],
        ['text', r.map((c) => c.doc)],
      )}
      ON CONFLICT (run_id) DO UPDATE SET project_key = excluded.project_key, agent_id = excluded.agent_id,
        status = excluded.status, started_at = excluded.started_at, last_activity_at = excluded.last_activity_at,
        cost_usd = excluded.cost_usd, parent_run_id = excluded.parent_run_id, input_tokens = excluded.input_tokens,
        output_tokens = excluded.output_tokens, total_tokens = excluded.total_tokens, llm_calls = excluded.llm_calls,
        failures = excluded.failures, agent = excluded.agent, model = excluded.model,
        last_failure_at = excluded.last_failure_at, doc = excluded.doc)`);
  }
  if (outbox.length) {
    parts.push(`o AS (INSERT INTO outbox (run_id, created_at, next_attempt_at, span)
      SELECT r, t, t, s FROM ${unnest(['text', outbox.map((x) => x.run_id)], ['float8', outbox.map((x) => x.at)], ['bytea', outbox.map((x) => x.span)])}
      WITH ORDINALITY AS u(r, t, s, n) ORDER BY n)`);
  }
  if (taken.size) parts.push(`d AS (DELETE FROM run_events WHERE run_id = ANY($${params.push(pgArray('text', [...taken]))}::text[]))`);
  if (events.length) {
    parts.push(`e AS (INSERT INTO run_events (run_id, seq, event)
      SELECT * FROM ${unnest(['text', events.map((x) => x.run_id)], ['int4', events.map((x) => x.seq)], ['text', events.map((x) => x.event)])})`);
  }
  if (usage.length) {
    parts.push(`u AS (INSERT INTO run_usage (run_id, seq, entry)
      SELECT * FROM ${unnest(['text', usage.map((x) => x.run_id)], ['int4', usage.map((x) => x.seq)], ['text', usage.map((x) => x.entry)])})`);
  }
  if (idem.size) {
    const i = [...idem];
    parts.push(`i AS (INSERT INTO idempotency (scope, created_at, response, request_hash)
      SELECT * FROM ${unnest(
        ['text', i.map(([k]) => k)],
        ['float8', i.map(([, v]) => v.at)],
        ['text', i.map(([, v]) => v.response)],
        ['text', i.map(([, v]) => v.hash)],
      )}
      ON CONFLICT (scope) DO UPDATE SET created_at = excluded.created_at, response = excluded.response, request_hash = excluded.request_hash)`);
  }
  if (parts.length === 0) return undefined;
  // Data-modifying CTEs all run to completion whether or not the final SELECT reads them.
  return named(`WITH ${parts.join(',\n')} SELECT 1`, params);
}
