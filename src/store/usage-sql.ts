import type { FailedRunsQuery, UsageGroup, UsageQuery } from './run-store.js';

/** Adds a parameter and answers its placeholder: `?` for SQLite, `$n` for Postgres. */
export type Placeholder = (value: string | number) => string;

const GROUP_COLUMNS = { project: 'project_key', agent: 'agent', model: 'model' } as const;

function scope(q: { projects?: string[]; project_key?: string; agent?: string }, p: Placeholder): string[] {
  const where: string[] = [];
  if (q.projects) where.push(`project_key IN (${q.projects.map((x) => p(x)).join(', ')})`);
  if (q.project_key) where.push(`project_key = ${p(q.project_key)}`);
  if (q.agent) where.push(`agent = ${p(q.agent)}`);
  return where;
}

/**
 * The store's usage summary: one GROUP BY over the runs' own columns, read from the covering index
 * runs_usage (project_key, started_at, then the summed columns), never from the run documents.
 */
export function usageSummarySql(q: UsageQuery, p: Placeholder, from = 'runs'): string {
  const where = scope(q, p);
  if (q.since !== undefined) where.push(`started_at >= ${p(q.since)}`);
  if (q.until !== undefined) where.push(`started_at < ${p(q.until)}`);
  const key = GROUP_COLUMNS[q.group_by];
  return `SELECT ${key} AS key, COUNT(*) AS runs, SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed_runs,
      SUM(failures) AS failures, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens,
      SUM(total_tokens) AS total_tokens, SUM(cost_usd) AS cost_usd, SUM(llm_calls) AS llm_calls
    FROM ${from} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} GROUP BY ${key}`;
}

/** The runs with the latest failures (index runs_last_failure), newest first. */
export function failedRunsSql(q: FailedRunsQuery, p: Placeholder): string {
  const where = ['last_failure_at IS NOT NULL', ...scope(q, p)];
  if (q.since !== undefined) where.push(`last_failure_at >= ${p(q.since)}`);
  return `SELECT doc FROM runs WHERE ${where.join(' AND ')} ORDER BY last_failure_at DESC, run_id DESC LIMIT ${p(q.limit)}`;
}

/** A row as the drivers return it (Postgres sums bigints as numeric text). */
export type UsageRow = Record<keyof UsageGroup, string | number | null>;

export function toUsageGroup(row: UsageRow): UsageGroup {
  const n = (v: string | number | null) => Number(v ?? 0);
  return {
    key: row.key === null ? null : String(row.key),
    runs: n(row.runs),
    failed_runs: n(row.failed_runs),
    failures: n(row.failures),
    input_tokens: n(row.input_tokens),
    output_tokens: n(row.output_tokens),
    total_tokens: n(row.total_tokens),
    cost_usd: n(row.cost_usd),
    llm_calls: n(row.llm_calls),
  };
}
