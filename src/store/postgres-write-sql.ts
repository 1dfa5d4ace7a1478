import type pg from 'pg';
import { RUN_LOCK_SPACE, named, pgArray, type ElementType } from './postgres-sql.js';
import type { PostgresTx } from './postgres-tx.js';
import type { runColumns } from './run-store.js';

type RunColumns = ReturnType<typeof runColumns>;
type Column = [ElementType, (string | number | Uint8Array | null)[]];

/** The columns of runs a write sets, in order, with their element types. */
const RUN_COLUMNS: [keyof RunColumns, ElementType][] = [
  ['run_id', 'text'],
  ['project_key', 'text'],
  ['agent_id', 'text'],
  ['status', 'text'],
  ['started_at', 'float8'],
  ['last_activity_at', 'float8'],
  ['cost_usd', 'float8'],
  ['parent_run_id', 'text'],
  ['input_tokens', 'int8'],
  ['output_tokens', 'int8'],
  ['total_tokens', 'int8'],
  ['llm_calls', 'int8'],
  ['failures', 'int8'],
  ['agent', 'text'],
  ['model', 'text'],
  ['last_failure_at', 'float8'],
  ['doc', 'text'],
];
export const RUN_COLUMN_NAMES = RUN_COLUMNS.map(([name]) => name).join(', ');

/** Every column of runs but the key set from `source`'s column of the same name. */
export const setEach = (source: string) =>
  RUN_COLUMNS.slice(1)
    .map(([name]) => `${name} = ${source}.${name}`)
    .join(', ');

/** The runs' columns as arrays, in RUN_COLUMNS' order. */
export function runColumnArrays(runs: RunColumns[]): Column[] {
  return RUN_COLUMNS.map(([name, type]) => [type, runs.map((c) => c[name])]);
}

/** A statement's parameters; columns go as binary arrays (pgArray) and are read back row by row. */
export class ArrayParams {
  readonly values: unknown[] = [];

  array(type: ElementType, values: Column[1]): string {
    return `$${this.values.push(pgArray(type, values))}::${type}[]`;
  }

  readonly unnest = (...cols: Column[]): string => `unnest(${cols.map(([type, values]) => this.array(type, values)).join(', ')})`;
}

/**
 * The writes of calls on cached runs (CachedCommits) as one statement that answers which of their
 * runs it could not write (`stale`). Each run is updated only where its stored document is still
 * the one the call worked on and its lock is free (tried, never waited for, before the row is
 * written; held until COMMIT like a locked call's). The call's other rows (spans, usage, events)
 * go in only with its run, so a stale call leaves nothing behind and runs again holding its lock,
 * while the others commit. Calls on cached runs write their own run and insert only (NeedsLock).
 */
export function writeCached(txs: PostgresTx[]): pg.QueryConfig {
  const params = new ArrayParams();
  const unnest = params.unnest;
  const keys = txs.map((tx) => tx.lockKey);
  const runs = txs.map((tx) => tx.runs.get(tx.lockKey)!);
  /** a call's rows of one table, each with the call's key */
  const rows = <T>(pick: (tx: PostgresTx) => T[]) => {
    const list: T[] = [];
    const owners: string[] = [];
    for (const tx of txs) {
      for (const row of pick(tx)) {
        list.push(row);
        owners.push(tx.lockKey);
      }
    }
    return { list, owners: ['text', owners] as Column };
  };
  const outbox = rows((tx) => tx.outbox);
  const events = rows((tx) => tx.events);
  const usage = rows((tx) => tx.usage);
  const parts = [
    `r AS (UPDATE runs SET ${setEach('u')}
      FROM ${unnest(...runColumnArrays(runs), ['text', txs.map((tx) => tx.lockedDoc)])} AS u(${RUN_COLUMN_NAMES}, cached_doc)
      WHERE runs.run_id = u.run_id AND runs.doc = u.cached_doc AND pg_try_advisory_xact_lock(${RUN_LOCK_SPACE}, hashtext(u.run_id))
      RETURNING runs.run_id)`,
  ];
  if (outbox.list.length) {
    const l = outbox.list;
    parts.push(`o AS (INSERT INTO outbox (run_id, created_at, next_attempt_at, span)
      SELECT r, t, t, s FROM ${unnest(['text', l.map((x) => x.run_id)], ['float8', l.map((x) => x.at)], ['bytea', l.map((x) => x.span)], outbox.owners)}
      WITH ORDINALITY AS x(r, t, s, k, n) WHERE k IN (SELECT run_id FROM r) ORDER BY n)`);
  }
  if (events.list.length) {
    const l = events.list;
    parts.push(`e AS (INSERT INTO run_events (run_id, seq, event)
      SELECT r, q, v FROM ${unnest(['text', l.map((x) => x.run_id)], ['int4', l.map((x) => x.seq)], ['text', l.map((x) => x.event)], events.owners)}
      AS x(r, q, v, k) WHERE k IN (SELECT run_id FROM r))`);
  }
  if (usage.list.length) {
    const l = usage.list;
    parts.push(`g AS (INSERT INTO run_usage (run_id, seq, entry)
      SELECT r, q, v FROM ${unnest(['text', l.map((x) => x.run_id)], ['int4', l.map((x) => x.seq)], ['text', l.map((x) => x.entry)], usage.owners)}
      AS x(r, q, v, k) WHERE k IN (SELECT run_id FROM r))`);
  }
  const all = params.array('text', keys);
  return named(
    `WITH ${parts.join(',\n')} SELECT ARRAY(SELECT k FROM unnest(${all}) AS k EXCEPT SELECT run_id FROM r) AS stale`,
    params.values,
  );
}
