/**
 * The Postgres side of bench/store-growth.ts: a throwaway schema filled by bulk SQL with `size`
 * ended runs and 5 × `size` idempotency answers, then EXPLAIN (ANALYZE) of the per-call and
 * housekeeping statements, retention's batches included.
 *
 *   PG_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/store-growth-postgres.ts 100000
 */
import pg from 'pg';
import { DELETE_ENDED_RUNS, PURGE_IDEMPOTENCY_BATCH, PostgresStore } from '../src/store/postgres-store.js';
import { PG_ADMIN_URL } from './throughput-bench.js';

const size = Number(process.argv[2] ?? 100_000);
const schema = `growth_${process.pid}`;
const store = new PostgresStore(PG_ADMIN_URL, { schema, poolSize: 1 });
await store.init();
await store.close();
const db = new pg.Client({ connectionString: PG_ADMIN_URL, options: `-c search_path=${schema}` });
await db.connect();
try {
  const now = Date.now();
  await db.query(
    `INSERT INTO runs (run_id, project_key, agent_id, status, started_at, last_activity_at, cost_usd, parent_run_id, doc)
     SELECT gen_random_uuid()::text, 'bench', 'agent', 'completed', $1::float8 - (${size} - i) * 5, $1::float8 - (${size} - i) * 5 + 4, random(), NULL, repeat('x', 1900)
     FROM generate_series(1, ${size}) AS i`,
    [now],
  );
  await db.query(
    `INSERT INTO idempotency (scope, created_at, response, request_hash)
     SELECT 'core_report_usage:' || gen_random_uuid()::text, $1::float8 - (${5 * size} - i), repeat('r', 470), repeat('h', 64)
     FROM generate_series(1, ${5 * size}) AS i`,
    [now],
  );
  await db.query('ANALYZE');
  const { rows } = await db.query<{ run_id: string }>('SELECT run_id FROM runs LIMIT 1');
  const id = rows[0]!.run_id;
  const statements: [string, string, unknown[]][] = [
    ['getRun', 'SELECT doc FROM runs WHERE run_id = $1', [id]],
    ['getIdem', 'SELECT response, request_hash FROM idempotency WHERE scope = $1 AND created_at >= $2', ['x', 0]],
    [
      'stale',
      `SELECT run_id FROM runs WHERE status = 'running' AND (last_activity_at < $1 OR started_at < $2) ORDER BY last_activity_at LIMIT 200`,
      [now, now],
    ],
    ['activeRuns', `SELECT project_key, COUNT(*), MIN(started_at) FROM runs WHERE status = 'running' GROUP BY project_key`, []],
    ['purgeIdem (24 h)', 'DELETE FROM idempotency WHERE created_at < $1', [now - 86_400_000]],
    ['retention: runs', DELETE_ENDED_RUNS, [now - 250_000, 500]],
    ['retention: idempotency', PURGE_IDEMPOTENCY_BATCH, [now - 250_000, 500]],
  ];
  process.stdout.write(`${size.toLocaleString()} ended runs, ${(5 * size).toLocaleString()} idempotency rows (Postgres)\n`);
  for (const [name, sql, params] of statements) {
    await db.query('BEGIN');
    const plan = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS OFF) ${sql}`, params);
    await db.query('ROLLBACK');
    const lines = plan.rows.map((r) => r['QUERY PLAN'].trim());
    const nodes = lines
      .filter((l) => !/^(Planning|Execution|Buffers)/.test(l))
      .map((l) => l.replace(/^->\s*/, '').replace(/ \(actual.*$/, ''));
    const time = lines.find((l) => l.startsWith('Execution Time'));
    process.stdout.write(
      `  ${name.padEnd(24)} ${time?.replace('Execution Time: ', '')}  ${nodes.filter((l) => !/^(Filter|Rows Removed|Index Cond|Recheck)/.test(l)).join(' → ')}\n`,
    );
  }
} finally {
  await db.query(`DROP SCHEMA ${schema} CASCADE`);
  await db.end();
}
