import type { RunRecord } from '../runs/model.js';
import { agentOf } from './run-columns.js';
import { decodeCursor, encodeCursor, type RunQuery } from './run-store.js';

/** `GET /v1/runs` over the memory store's runs: the same filters, order and cursor as the SQL stores. */
export function listRunsIn(all: Iterable<RunRecord>, q: RunQuery): { runs: RunRecord[]; next_cursor: string | null } {
  if (q.projects && q.projects.length === 0) return { runs: [], next_cursor: null };
  const sortValue = (r: RunRecord) => (q.sort === 'cost' ? r.totals.cost_usd : r.started_at);
  const cursor = q.cursor ? decodeCursor(q.cursor) : undefined;
  const matches = [...all].filter(
    (r) =>
      (!q.projects || q.projects.includes(r.project_key)) &&
      (!q.project_key || r.project_key === q.project_key) &&
      (!q.status || r.status === q.status) &&
      (!q.agent_id || r.agent_id === q.agent_id) &&
      (!q.agent || agentOf(r) === q.agent) &&
      (q.since === undefined || r.started_at >= q.since) &&
      (q.until === undefined || r.started_at < q.until) &&
      (q.min_cost === undefined || r.totals.cost_usd >= q.min_cost) &&
      (!q.parent_run_id || r.parent_run_id === q.parent_run_id) &&
      (!cursor || compareDesc(sortValue(r), r.run_id, cursor[0], cursor[1]) > 0),
  );
  matches.sort((a, b) => compareDesc(sortValue(a), a.run_id, sortValue(b), b.run_id));
  const runs = matches.slice(0, q.limit);
  const last = runs[runs.length - 1];
  const next_cursor = matches.length > q.limit && last ? encodeCursor(sortValue(last), last.run_id) : null;
  return { runs, next_cursor };
}

/** Orders (sortValue, runId) pairs descending: negative when a comes first. */
function compareDesc(aValue: number, aId: string, bValue: number, bId: string): number {
  if (aValue !== bValue) return bValue - aValue;
  return aId < bId ? 1 : aId > bId ? -1 : 0;
}
