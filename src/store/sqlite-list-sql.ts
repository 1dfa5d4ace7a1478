import { decodeCursor, type RunQuery } from './run-store.js';

/** Up to this many projects in a key's scope, listRuns merges one index range per project. */
const MAX_MERGED_PROJECTS = 64;

/** The SQL and parameters of SqliteStore.listRuns for a query (bench/list-runs.ts EXPLAINs it too). */
export function listRunsSql(q: RunQuery): { sql: string; params: (string | number)[] } {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const add = (clause: string, ...values: (string | number)[]) => {
    where.push(clause);
    params.push(...values);
  };
  if (q.project_key) add('project_key = ?', q.project_key);
  if (q.status) add('status = ?', q.status);
  if (q.agent_id) add('agent_id = ?', q.agent_id);
  if (q.agent) add('agent = ?', q.agent);
  if (q.since !== undefined) add('started_at >= ?', q.since);
  if (q.until !== undefined) add('started_at < ?', q.until);
  if (q.min_cost !== undefined) add('cost_usd >= ?', q.min_cost);
  if (q.parent_run_id) add('parent_run_id = ?', q.parent_run_id);
  const col = q.sort === 'cost' ? 'cost_usd' : 'started_at';
  const cursor = q.cursor ? decodeCursor(q.cursor) : undefined;
  if (cursor) add(`(${col}, run_id) < (?, ?)`, cursor[0], cursor[1]);
  const order = `ORDER BY ${col} DESC, run_id DESC LIMIT ?`;
  const filter = (scope: string[]) => (scope.length + where.length ? `WHERE ${[...scope, ...where].join(' AND ')}` : '');
  const limit = q.limit + 1;
  let sql: string;
  let args: (string | number)[];
  if (q.projects && q.projects.length > 1 && q.projects.length <= MAX_MERGED_PROJECTS && !q.project_key) {
    // A key scoped to several projects: one index range per project, merged by the outer ORDER BY.
    // With `project_key IN (…)` SQLite may sort every run of those projects instead (bench/list-runs.ts).
    const projects = [...new Set(q.projects)];
    const branch = `SELECT * FROM (SELECT doc, ${col} AS k, run_id FROM runs ${filter(['project_key = ?'])} ${order})`;
    sql = `SELECT doc FROM (${projects.map(() => branch).join(' UNION ALL ')}) ORDER BY k DESC, run_id DESC LIMIT ?`;
    args = [...projects.flatMap((p) => [p, ...params, limit]), limit];
  } else {
    sql = `SELECT doc FROM runs ${filter(q.projects ? [`project_key IN (${q.projects.map(() => '?').join(',')})`] : [])} ${order}`;
    args = [...(q.projects ?? []), ...params, limit];
  }
  return { sql, params: args };
}
