import type { RunRecord } from '../runs/model.js';
import { encodeStoredSpan } from '../telemetry/otlp-span.js';
import { runIdOf, type StoredEvent } from '../telemetry/span-record.js';
import { indexedColumns, runColumns, type StoreTx } from './run-store.js';
import type { EnqueueStatements, RunRow, SqliteStatements } from './sqlite-statements.js';

/** Spans written by one INSERT at most. */
const ENQUEUE_CHUNK = 16;

/**
 * One tool call's reads and writes on the open SQLite transaction. A save that changes only activity
 * time, usage and failure columns updates just those, leaving the other indexes untouched.
 */
export function sqliteTx(s: SqliteStatements, enqueueStatements: EnqueueStatements): StoreTx {
  /** the columns of each run as first read, to know which ones a save changes */
  const read = new Map<string, RunColumns>();
  /** each run as this call holds it: read once, then the same object (see StoreTx.getRun) */
  const held = new Map<string, RunRecord | null>();
  return {
    getRun: async (runId) => {
      const known = held.get(runId);
      if (known !== undefined) return known;
      const run = parseRun(s.getRun.get(runId));
      if (run) read.set(runId, indexedColumns(run));
      held.set(runId, run);
      return run;
    },
    saveRun: async (run) => {
      const before = read.get(run.run_id);
      const after = runColumns(run);
      held.set(run.run_id, run);
      if (!before || STATIC_COLUMNS.some((c) => before[c] !== after[c])) return void s.upsertRun.run(after);
      if (USAGE_COLUMNS.every((c) => before[c] === after[c])) return void s.updateActivity.run(run.last_activity_at, after.doc, run.run_id);
      const { last_activity_at, cost_usd, input_tokens, output_tokens, total_tokens, llm_calls, failures, model, last_failure_at, doc } =
        after;
      s.updateUsage.run({
        run_id: run.run_id,
        last_activity_at,
        cost_usd,
        input_tokens,
        output_tokens,
        total_tokens,
        llm_calls,
        failures,
        model,
        last_failure_at,
        doc,
      });
    },
    appendEvent: async (runId, seq, event) => void s.appendEvent.run(runId, seq, JSON.stringify(event)),
    appendUsage: async (runId, seq, entry) => void s.appendUsage.run(runId, seq, JSON.stringify(entry)),
    takeEvents: async (runId) => {
      const events = s.events.all(runId).map((r) => JSON.parse(r.event) as StoredEvent);
      s.dropEvents.run(runId);
      return events;
    },
    enqueue: async (spans, now) => {
      for (let i = 0; i < spans.length; i += ENQUEUE_CHUNK) {
        const chunk = spans.slice(i, i + ENQUEUE_CHUNK);
        const values: (string | number | Buffer | null)[] = [];
        for (const span of chunk) values.push(runIdOf(span), now, now, encodeStoredSpan(span));
        enqueueStatements.forRows(chunk.length).run(values);
      }
    },
    getIdempotent: async (scope, notBefore) => {
      const row = s.getIdem.get(scope, notBefore);
      return row ? { response: JSON.parse(row.response) as unknown, request_hash: row.request_hash } : undefined;
    },
    putIdempotent: async (scope, answer, now) => void s.putIdem.run(scope, now, JSON.stringify(answer.response), answer.request_hash),
  };
}

type RunColumns = ReturnType<typeof indexedColumns>;

/** Columns a report or failure never changes: a save that changes one of them rewrites the whole row. */
const STATIC_COLUMNS = [
  'project_key',
  'agent_id',
  'status',
  'started_at',
  'parent_run_id',
  'agent',
] as const satisfies (keyof RunColumns)[];
/** Columns a report or failure changes (besides activity time and the document). */
const USAGE_COLUMNS = [
  'cost_usd',
  'input_tokens',
  'output_tokens',
  'total_tokens',
  'llm_calls',
  'failures',
  'model',
  'last_failure_at',
] as const satisfies (keyof RunColumns)[];

export function parseRun(row: RunRow | undefined): RunRecord | null {
  return row ? (JSON.parse(row.doc) as RunRecord) : null;
}
