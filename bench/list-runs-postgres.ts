/**
 * bench/list-runs.ts against PostgreSQL: a throwaway schema (dropped afterwards) on the bench
 * server, filled with one multi-row INSERT per batch (bypassing the tool path), plans from EXPLAIN.
 */
import pg from 'pg';
import type { RunRecord } from '../src/runs/model.js';
import { listRunsSql } from '../src/store/postgres-list-sql.js';
import { PostgresStore } from '../src/store/postgres-store.js';
import { runColumns } from '../src/store/run-store.js';
import type { ListTarget } from './list-runs.js';
import { PG_ADMIN_URL } from './throughput-bench.js';

export async function openPostgresTarget(): Promise<ListTarget> {
  const schema = `bench_list_${process.pid}`;
  const store = new PostgresStore(PG_ADMIN_URL, { schema });
  const db = new pg.Client({ connectionString: PG_ADMIN_URL, options: `-c search_path=${schema}` });
  await db.connect();
  await store.init();
  return {
    store,
    fill: async (runs: RunRecord[]) => {
      const cols = runs.map(runColumns);
      const column = <K extends keyof (typeof cols)[number]>(k: K) => cols.map((c) => c[k]);
      await db.query(
        `INSERT INTO runs (run_id, project_key, agent_id, status, started_at, last_activity_at, cost_usd, parent_run_id, doc)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[], $7::float8[], $8::text[], $9::text[])`,
        [
          column('run_id'),
          column('project_key'),
          column('agent_id'),
          column('status'),
          column('started_at'),
          column('last_activity_at'),
          column('cost_usd'),
          column('parent_run_id'),
          column('doc'),
        ],
      );
    },
    filled: async () => {
      await db.query('VACUUM ANALYZE runs');
    },
    plan: async (q) => {
      const { sql, params } = listRunsSql(q);
      const { rows } = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN (COSTS OFF) ${sql}`, params);
      return rows.map((r) => r['QUERY PLAN'].trim().replace(/^->\s*/, '')).join('; ');
    },
    size: async () => {
      const { rows } = await db.query<{ mb: string }>(`SELECT round(pg_total_relation_size('runs') / 1e6) AS mb`);
      return `runs table + indexes ${rows[0]!.mb} MB`;
    },
    dispose: async () => {
      await store.close();
      await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await db.end();
    },
  };
}
