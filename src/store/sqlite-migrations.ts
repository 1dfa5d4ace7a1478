/** The SQLite schema, one entry per version; applied in order by SqliteStore.init. */
export const MIGRATIONS: string[] = [
  `CREATE TABLE runs (
     run_id TEXT PRIMARY KEY,
     project_key TEXT NOT NULL,
     agent_id TEXT,
     status TEXT NOT NULL,
     started_at REAL NOT NULL,
     last_activity_at REAL NOT NULL,
     cost_usd REAL NOT NULL,
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
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     run_id TEXT,
     created_at REAL NOT NULL,
     next_attempt_at REAL NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     lease_owner TEXT,
     lease_until REAL,
     span TEXT NOT NULL
   );
   CREATE INDEX outbox_due ON outbox(next_attempt_at, id);
   CREATE TABLE dead_letters (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     run_id TEXT,
     created_at REAL NOT NULL,
     dead_at REAL NOT NULL,
     attempts INTEGER NOT NULL,
     reason TEXT NOT NULL,
     span TEXT NOT NULL
   );
   CREATE TABLE idempotency (scope TEXT PRIMARY KEY, created_at REAL NOT NULL, response TEXT NOT NULL);
   CREATE INDEX idempotency_created ON idempotency(created_at);
   CREATE TABLE api_keys (
     id TEXT PRIMARY KEY,
     hash TEXT NOT NULL UNIQUE,
     projects TEXT NOT NULL,
     created_at REAL NOT NULL,
     revoked_at REAL,
     label TEXT
   );`,
  // GET /v1/runs filtered by agent, and a project's runs sorted by cost, without scanning (bench/list-runs.ts).
  `CREATE INDEX runs_agent_started ON runs(agent_id, started_at DESC, run_id DESC);
   CREATE INDEX runs_project_cost ON runs(project_key, cost_usd DESC, run_id DESC);`,
  // root-span events live apart from the run document, so a report appends a row instead of rewriting them all
  `CREATE TABLE run_events (run_id TEXT NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL, PRIMARY KEY (run_id, seq)) WITHOUT ROWID;`,
  // read-only keys (Prometheus, dashboards): existing keys keep writing
  `ALTER TABLE api_keys ADD COLUMN scope TEXT NOT NULL DEFAULT 'write';`,
  // a key reused with another request body is refused, so the request it answered is kept as a hash
  `ALTER TABLE idempotency ADD COLUMN request_hash TEXT;`,
  // usage summaries and recent failures read these columns from covering indexes, not the documents
  `ALTER TABLE runs ADD COLUMN input_tokens INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE runs ADD COLUMN output_tokens INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE runs ADD COLUMN total_tokens INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE runs ADD COLUMN llm_calls INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE runs ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE runs ADD COLUMN agent TEXT;
   ALTER TABLE runs ADD COLUMN model TEXT;
   ALTER TABLE runs ADD COLUMN last_failure_at REAL;
   UPDATE runs SET
     input_tokens = json_extract(doc, '$.totals.input_tokens'),
     output_tokens = json_extract(doc, '$.totals.output_tokens'),
     total_tokens = json_extract(doc, '$.totals.total_tokens'),
     llm_calls = json_extract(doc, '$.totals.llm_calls'),
     failures = json_extract(doc, '$.failures'),
     agent = COALESCE(NULLIF(TRIM(json_extract(doc, '$.meta.agent_name')), ''), json_extract(doc, '$.agent_name'), agent_id),
     model = COALESCE(json_extract(doc, '$.last_model'), json_extract(doc, '$.models[#-1]'));
   CREATE INDEX runs_usage ON runs(project_key, started_at, agent, model, status, failures,
     input_tokens, output_tokens, total_tokens, cost_usd, llm_calls);
   CREATE INDEX runs_agent_name_started ON runs(agent, started_at DESC, run_id DESC);
   CREATE INDEX runs_last_failure ON runs(last_failure_at DESC, run_id DESC) WHERE last_failure_at IS NOT NULL;
   CREATE INDEX runs_project_last_failure ON runs(project_key, last_failure_at DESC) WHERE last_failure_at IS NOT NULL;`,
  // the run page's usage timeline, apart from the run document (runs/run-history.ts)
  `CREATE TABLE run_usage (run_id TEXT NOT NULL, seq INTEGER NOT NULL, entry TEXT NOT NULL, PRIMARY KEY (run_id, seq)) WITHOUT ROWID;`,
];
