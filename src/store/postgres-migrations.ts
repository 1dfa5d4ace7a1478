import type pg from 'pg';

/**
 * The Postgres schema, one entry per version; applied in order by migrate. Documents and spans are
 * TEXT holding JSON, not JSONB: JSONB rejects "\u0000" in strings, and TEXT round-trips exactly what
 * the sqlite store stores. run_id is COLLATE "C" so paging order is byte order, as in sqlite,
 * whatever the database's collation.
 */
const MIGRATIONS: string[] = [
  `CREATE TABLE runs (
     run_id TEXT COLLATE "C" PRIMARY KEY,
     project_key TEXT NOT NULL,
     agent_id TEXT,
     status TEXT NOT NULL,
     started_at DOUBLE PRECISION NOT NULL,
     last_activity_at DOUBLE PRECISION NOT NULL,
     cost_usd DOUBLE PRECISION NOT NULL,
     parent_run_id TEXT,
     doc TEXT NOT NULL
   );
   CREATE INDEX runs_status_activity ON runs(status, last_activity_at);
   CREATE INDEX runs_status_started ON runs(status, started_at);
   CREATE INDEX runs_started ON runs(started_at DESC, run_id DESC);
   CREATE INDEX runs_project_started ON runs(project_key, started_at DESC, run_id DESC);
   CREATE INDEX runs_cost ON runs(cost_usd DESC, run_id DESC);
   CREATE INDEX runs_parent ON runs(parent_run_id) WHERE parent_run_id IS NOT NULL;
   CREATE TABLE outbox (
     id BIGSERIAL PRIMARY KEY,
     run_id TEXT,
     created_at DOUBLE PRECISION NOT NULL,
     next_attempt_at DOUBLE PRECISION NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     lease_owner TEXT,
     lease_until DOUBLE PRECISION,
     span TEXT NOT NULL
   );
   CREATE INDEX outbox_due ON outbox(next_attempt_at, id);
   CREATE TABLE dead_letters (
     id BIGSERIAL PRIMARY KEY,
     run_id TEXT,
     created_at DOUBLE PRECISION NOT NULL,
     dead_at DOUBLE PRECISION NOT NULL,
     attempts INTEGER NOT NULL,
     reason TEXT NOT NULL,
     span TEXT NOT NULL
   );
   CREATE TABLE idempotency (scope TEXT PRIMARY KEY, created_at DOUBLE PRECISION NOT NULL, response TEXT NOT NULL);
   CREATE INDEX idempotency_created ON idempotency(created_at);
   CREATE TABLE api_keys (
     id TEXT PRIMARY KEY,
     hash TEXT NOT NULL UNIQUE,
     projects TEXT[] NOT NULL,
     created_at DOUBLE PRECISION NOT NULL,
     revoked_at DOUBLE PRECISION,
     label TEXT
   );`,
  // GET /v1/runs filtered by agent, and a project's runs sorted by cost, without scanning (bench/list-runs.ts).
  `CREATE INDEX runs_agent_started ON runs(agent_id, started_at DESC, run_id DESC);
   CREATE INDEX runs_project_cost ON runs(project_key, cost_usd DESC, run_id DESC);`,
  `CREATE TABLE run_events (run_id TEXT COLLATE "C" NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL, PRIMARY KEY (run_id, seq));`,
  // Room in each page for a row's new version when a relay claims it (lease columns, not indexed):
  // the claim is then a HOT update, with no new entries in the outbox's two indexes.
  `ALTER TABLE outbox SET (fillfactor = 50);`,
  // read-only keys (Prometheus, dashboards): existing keys keep writing
  `ALTER TABLE api_keys ADD COLUMN scope TEXT NOT NULL DEFAULT 'write';`,
  // a key reused with another request body is refused, so the request it answered is kept as a hash
  `ALTER TABLE idempotency ADD COLUMN request_hash TEXT;`,
  // usage summaries and recent failures read these columns from covering indexes, not the documents
  `ALTER TABLE runs ADD COLUMN input_tokens BIGINT NOT NULL DEFAULT 0,
     ADD COLUMN output_tokens BIGINT NOT NULL DEFAULT 0,
     ADD COLUMN total_tokens BIGINT NOT NULL DEFAULT 0,
     ADD COLUMN llm_calls BIGINT NOT NULL DEFAULT 0,
     ADD COLUMN failures BIGINT NOT NULL DEFAULT 0,
     ADD COLUMN agent TEXT,
     ADD COLUMN model TEXT,
     ADD COLUMN last_failure_at DOUBLE PRECISION;
   UPDATE runs SET
     input_tokens = (d->'totals'->>'input_tokens')::bigint,
     output_tokens = (d->'totals'->>'output_tokens')::bigint,
     total_tokens = (d->'totals'->>'total_tokens')::bigint,
     llm_calls = (d->'totals'->>'llm_calls')::bigint,
     failures = (d->>'failures')::bigint,
     agent = COALESCE(NULLIF(TRIM(d->'meta'->>'agent_name'), ''), d->>'agent_name', agent_id),
     model = COALESCE(d->>'last_model', d->'models'->>-1)
   FROM (SELECT run_id AS id, doc::json AS d FROM runs) AS parsed WHERE parsed.id = runs.run_id;
   CREATE INDEX runs_usage ON runs(project_key, started_at)
     INCLUDE (agent, model, status, failures, input_tokens, output_tokens, total_tokens, cost_usd, llm_calls);
   CREATE INDEX runs_agent_name_started ON runs(agent, started_at DESC, run_id DESC);
   CREATE INDEX runs_last_failure ON runs(last_failure_at DESC, run_id DESC) WHERE last_failure_at IS NOT NULL;
   CREATE INDEX runs_project_last_failure ON runs(project_key, last_failure_at DESC) WHERE last_failure_at IS NOT NULL;`,
  // spans are stored as their OTLP protobuf encoding (telemetry/otlp-span.ts); rows stored as JSON
  // text keep their text as bytes (starting with '{'), which the reader still understands
  `ALTER TABLE outbox ALTER COLUMN span TYPE bytea USING convert_to(span, 'UTF8');
   ALTER TABLE dead_letters ALTER COLUMN span TYPE bytea USING convert_to(span, 'UTF8');`,
  // the run page's usage timeline, apart from the run document (runs/run-history.ts)
  `CREATE TABLE IF NOT EXISTS run_usage (run_id TEXT COLLATE "C" NOT NULL, seq INTEGER NOT NULL, entry TEXT NOT NULL, PRIMARY KEY (run_id, seq));`,
];

/**
 * Brings the schema (created first when given) up to the newest version, one transaction per
 * version, under an advisory lock so replicas starting together migrate once.
 */
export async function migrate(client: pg.ClientBase, schema: string | undefined): Promise<void> {
  const lockKey = `oprelay-bridge:migrate:${schema ?? ''}`;
  await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [lockKey]);
  try {
    if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    const { rows } = await client.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_version');
    for (let i = rows[0]?.v ?? 0; i < MIGRATIONS.length; i++) {
      await client.query('BEGIN');
      try {
        await client.query(MIGRATIONS[i]);
        await client.query('INSERT INTO schema_version (version) VALUES ($1)', [i + 1]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [lockKey]);
  }
}
