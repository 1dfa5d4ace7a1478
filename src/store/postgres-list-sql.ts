import { decodeCursor, type RunQuery } from './run-store.js';

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
  else if (q.projects)
    where.push(q.projects.length === 1 ? `project_key = ${p(q.projects[0])}` : `project_key = ANY(${p(q.projects)}::text[])`);
  if (q.project_key) where.push(`project_key = ${p(q.project_key)}`);
  if (q.status) where.push(`status = ${p(q.status)}`);
  if (q.agent_id) where.push(`agent_id = ${p(q.agent_id)}`);
  if (q.agent) where.push(`agent = ${p(q.agent)}`);
  if (q.since !== undefined) where.push(`started_at >= ${p(q.since)}`);
  if (q.until !== undefined) where.push(`started_at < ${p(q.until)}`);
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
