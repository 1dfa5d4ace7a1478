import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { CLAIM_OUTBOX, DELETE_ENDED_RUNS, PostgresStore, PURGE_IDEMPOTENCY_BATCH } from '../src/store/postgres-store.js';
import { PG_URL, skipWithoutPostgres } from './support/postgres.js';

// The relay's claim and the retention batches are prepared statements: after a few runs Postgres
// may keep one generic plan for them. That plan must reach the batch's rows through an index, not
// read the whole outbox, runs or idempotency table on every batch (docs/architecture.md#delivery).

const skip = await skipWithoutPostgres();
const schema = `plans_${process.pid}_${randomBytes(4).toString('hex')}`;

/** The generic plan of sql (as Postgres keeps it for a prepared statement), as text. */
async function genericPlan(client: pg.Client, name: string, sql: string, types: string[], args: string): Promise<string> {
  await client.query(`PREPARE ${name}(${types.join(', ')}) AS ${sql}`);
  const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN EXECUTE ${name}(${args})`);
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}

describe('postgres: generic plans of the batch statements', { skip }, () => {
  const client = new pg.Client({ connectionString: PG_URL });
  after(async () => {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await client.end().catch(() => undefined);
  });

  test('claim, ended-run deletion and idempotency purge look rows up by index, never by a sequential scan', async () => {
    const store = new PostgresStore(PG_URL, { schema });
    await store.init();
    await store.close();
    await client.connect();
    await client.query(`SET search_path = ${schema}`);
    // enough rows that a sequential scan is a real choice for the planner
    await client.query(`INSERT INTO outbox (run_id, created_at, next_attempt_at, span)
      SELECT 'r' || g, g, g, '\\x00'::bytea FROM generate_series(1, 20000) g`);
    await client.query(`INSERT INTO idempotency (scope, created_at, response)
      SELECT 's' || g, g, '{}' FROM generate_series(1, 20000) g`);
    const statuses = `(ARRAY['running', 'completed', 'failed', 'interrupted'])[1 + g % 4]`;
    await client.query(`INSERT INTO runs (run_id, project_key, status, started_at, last_activity_at, cost_usd, doc)
      SELECT 'r' || g, 'p', ${statuses}, g, g, 0, '{}' FROM generate_series(1, 20000) g`);
    for (const table of ['run_events', 'run_usage'])
      await client.query(`INSERT INTO ${table} SELECT 'r' || g, s, '{}' FROM generate_series(1, 5000) g, generate_series(1, 4) s`);
    await client.query('ANALYZE');
    await client.query('SET plan_cache_mode = force_generic_plan');
    await client.query('BEGIN'); // the statements write: look at their plans, keep nothing
    try {
      const plans = {
        claim: await genericPlan(client, 'claim', CLAIM_OUTBOX, ['text', 'float8', 'float8', 'int'], `'relay', 1e12, 1e11, 512`),
        deleteEnded: await genericPlan(client, 'ended', DELETE_ENDED_RUNS, ['float8', 'int'], '1e12, 25'),
        purge: await genericPlan(client, 'purge', PURGE_IDEMPOTENCY_BATCH, ['float8', 'int'], '1e12, 500'),
      };
      for (const [name, plan] of Object.entries(plans)) {
        assert.doesNotMatch(plan, /Seq Scan on (outbox|runs|run_events|run_usage|idempotency)\b/, `${name}:\n${plan}`);
        assert.match(plan, /InitPlan/, `${name} picks its batch once:\n${plan}`);
      }
    } finally {
      await client.query('ROLLBACK');
    }
  });
});
