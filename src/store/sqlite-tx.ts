import type { RunRecord } from '../runs/model.js';
import { encodeStoredSpan } from '../telemetry/otlp-span.js';
import { runIdOf, type StoredEvent } from '../telemetry/span-record.js';
import { runColumns, type StoreTx } from './run-store.js';
import type { EnqueueStatements, RunRow, SqliteStatements } from './sqlite-statements.js';

/** Spans written by one INSERT at most. */
const ENQUEUE_CHUNK = 16;

/**
 * One tool call's reads and writes on the open SQLite transaction. A save that changes only activity
 * time and cost updates just those columns, leaving the other indexes untouched.
 */
export function sqliteTx(s: SqliteStatements, enqueueStatements: EnqueueStatements): StoreTx {
  const read = new Map<string, IndexedColumns>();
  return {
    getRun: async (runId) => {
      const run = parseRun(s.getRun.get(runId));
      if (run) read.set(runId, indexedColumns(run));
      return run;
    },
    saveRun: async (run) => {
      const before = read.get(run.run_id);
      const after = indexedColumns(run);
      if (!before || !sameStaticColumns(before, after)) return void s.upsertRun.run(runColumns(run));
      if (before.cost_usd === after.cost_usd) s.updateActivity.run(run.last_activity_at, JSON.stringify(run), run.run_id);
      else s.updateActivityCost.run(run.last_activity_at, run.totals.cost_usd, JSON.stringify(run), run.run_id);
    },
    appendEvent: async (runId, seq, event) => void s.appendEvent.run(runId, seq, JSON.stringify(event)),
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

type IndexedColumns = Pick<RunRecord, 'project_key' | 'agent_id' | 'status' | 'started_at' | 'parent_run_id'> & { cost_usd: number };

function indexedColumns(r: RunRecord): IndexedColumns {
  const { project_key, agent_id, status, started_at, parent_run_id } = r;
  return { project_key, agent_id, status, started_at, parent_run_id, cost_usd: r.totals.cost_usd };
}

/** True when a save changes none of the indexed columns but activity time and cost. */
function sameStaticColumns(a: IndexedColumns, b: IndexedColumns): boolean {
  return (
    a.project_key === b.project_key &&
    a.agent_id === b.agent_id &&
    a.status === b.status &&
    a.started_at === b.started_at &&
    a.parent_run_id === b.parent_run_id
  );
}

export function parseRun(row: RunRow | undefined): RunRecord | null {
  return row ? (JSON.parse(row.doc) as RunRecord) : null;
}
