import type pg from 'pg';
import type { RunRecord, UsageEntry } from '../runs/model.js';
import { encodeStoredSpan } from '../telemetry/otlp-span.js';
import { runIdOf, type SpanRecord, type StoredEvent } from '../telemetry/span-record.js';
import { named } from './postgres-sql.js';
import { ArrayParams, RUN_COLUMN_NAMES, runColumnArrays, setEach } from './postgres-write-sql.js';
import { runColumns, type IdempotentAnswer, type StoreTx } from './run-store.js';

const READ_SQL = 'SELECT doc FROM runs WHERE run_id = $1';

/** A call on a cached run needed more than its run's document: it runs again holding the lock (see CachedCommits). */
export class NeedsLock extends Error {
  constructor(what: string) {
    super(`${what} needs the run's lock`);
  }
}

/**
 * One tool call's part of a transaction (several calls may share one: see PostgresBatcher), begun
 * once the call holds its run's lock. Reads go out at once, pipelined behind the statements already
 * sent; writes — taking events included — are only held here, and sent for all the transaction's
 * calls in one statement with COMMIT (writeAll). So reads change nothing, and a call that fails
 * leaves nothing behind: its writes are dropped.
 *
 * Without a client the call works on its run's cached document alone (CachedCommits): any other
 * read, or a write to another run, throws NeedsLock.
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

  /**
   * lockedDoc: the document of the run the call locked, as read after taking the lock (null: no such
   * run yet), or as this process last committed it (no client).
   */
  constructor(
    private readonly client: pg.ClientBase | undefined,
    readonly lockKey: string,
    readonly lockedDoc: string | null,
  ) {}

  private connected(what: string): pg.ClientBase {
    if (!this.client) throw new NeedsLock(what);
    return this.client;
  }

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
      runId === this.lockKey
        ? this.lockedDoc
        : ((await this.connected('reading another run').query<{ doc: string }>(named(READ_SQL, [runId]))).rows[0]?.doc ?? null);
    const run = doc === null ? null : (JSON.parse(doc) as RunRecord);
    this.held.set(runId, run);
    return run;
  }

  saveRun(run: RunRecord): Promise<void> {
    if (run.run_id !== this.lockKey) this.connected('writing another run');
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
          await this.connected('reading stored events').query<{ seq: number; event: string }>(
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
    const { rows } = await this.connected('an idempotency look-up').query<{ response: string; request_hash: string | null }>(
      named(sql, [scope, notBefore]),
    );
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
  const params = new ArrayParams();
  const unnest = params.unnest;
  const parts: string[] = [];
  if (runs.size) {
    parts.push(`r AS (INSERT INTO runs (${RUN_COLUMN_NAMES})
      SELECT * FROM ${unnest(...runColumnArrays([...runs.values()]))}
      ON CONFLICT (run_id) DO UPDATE SET ${setEach('excluded')})`);
  }
  if (outbox.length) {
    parts.push(`o AS (INSERT INTO outbox (run_id, created_at, next_attempt_at, span)
      SELECT r, t, t, s FROM ${unnest(['text', outbox.map((x) => x.run_id)], ['float8', outbox.map((x) => x.at)], ['bytea', outbox.map((x) => x.span)])}
      WITH ORDINALITY AS u(r, t, s, n) ORDER BY n)`);
  }
  if (taken.size) parts.push(`d AS (DELETE FROM run_events WHERE run_id = ANY(${params.array('text', [...taken])}))`);
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
  return named(`WITH ${parts.join(',\n')} SELECT 1`, params.values);
}
