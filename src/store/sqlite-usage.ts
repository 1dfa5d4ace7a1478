import type Database from 'better-sqlite3';
import type { RunRecord } from '../runs/model.js';
import { sortGroups } from './memory-usage.js';
import type { FailedRunsQuery, UsageGroup, UsageQuery } from './run-store.js';
import type { RunRow } from './sqlite-statements.js';
import { failedRunsSql, toUsageGroup, usageSummarySql, type UsageRow } from './usage-sql.js';

/** SqliteStore.usageSummary: the GROUP BY of usage-sql.ts on the open database. */
export function usageSummaryIn(db: Database.Database, q: UsageQuery): UsageGroup[] {
  if (q.projects?.length === 0) return [];
  const params: (string | number)[] = [];
  // the covering index, always: by agent SQLite would otherwise walk runs_agent_name_started and read every document
  const sql = usageSummarySql(q, (v) => (params.push(v), '?'), 'runs INDEXED BY runs_usage');
  return sortGroups(
    db
      .prepare<(string | number)[], UsageRow>(sql)
      .all(...params)
      .map(toUsageGroup),
  );
}

/** SqliteStore.failedRuns. */
export function failedRunsIn(db: Database.Database, q: FailedRunsQuery): RunRecord[] {
  if (q.projects?.length === 0) return [];
  const params: (string | number)[] = [];
  const sql = failedRunsSql(q, (v) => (params.push(v), '?'));
  return db
    .prepare<(string | number)[], RunRow>(sql)
    .all(...params)
    .map((r) => JSON.parse(r.doc) as RunRecord);
}
