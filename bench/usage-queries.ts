/**
 * The read tools at scale: fills a throwaway SQLite file and a throwaway Postgres schema with
 * BENCH_USAGE_RUNS runs (default 1,000,000; batched inserts, not the tool path), then times the
 * store queries behind usage_summary, list_runs and recent_failures against their targets.
 * `npm run bench` adds its rows (usageQueryRows); alone it prints them:
 *
 *   node --import tsx bench/usage-queries.ts
 *   BENCH_USAGE_RUNS=100000 node --import tsx bench/usage-queries.ts
 *   BENCH_USAGE_STORE=sqlite node --import tsx bench/usage-queries.ts   # or postgres: one store only
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, hostname, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { zeroExtra, type RunRecord, type RunStatus } from '../src/runs/model.js';
import { PostgresStore } from '../src/store/postgres-store.js';
import { ArrayParams, RUN_COLUMN_NAMES, runColumnArrays } from '../src/store/postgres-write-sql.js';
import { runColumns, type RunStore } from '../src/store/run-store.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { BENCH_DIR } from './proc.js';
import { PG_ADMIN_URL } from './throughput-bench.js';
import { mulberry32 } from './prng.js';

const TOTAL = Number(process.env.BENCH_USAGE_RUNS ?? 1_000_000);
const BATCH = 5_000;
const PROJECTS = 20;
const AGENTS = 50;
const MODELS = ['claude-opus-4', 'claude-sonnet-4', 'gpt-4o', 'gpt-4o-mini', 'gemini-2.5-pro'];
const DAYS = 30;
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 0, 31);

/** [figure, bridge, baseline, ratio, target, met] as bench/run.ts prints them. */
export type BenchRow = [string, string, string, string, string, boolean | null];

function makeRuns(): (n: number, offset: number) => RunRecord[] {
  const rand = mulberry32(27);
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('');
  const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-8${hex(3)}-${hex(12)}`;
  const status = (r: number): RunStatus => (r < 0.02 ? 'running' : r < 0.9 ? 'completed' : r < 0.97 ? 'failed' : 'interrupted');
  const one = (i: number): RunRecord => {
    const runId = uuid();
    const s = status(rand());
    const started = NOW - Math.floor(rand() * DAYS * DAY);
    const input = Math.floor(rand() * 20_000);
    const output = Math.floor(rand() * 4_000);
    const model = MODELS[Math.floor(rand() * MODELS.length)]!;
    const failed = s === 'failed';
    return {
      run_id: runId,
      project_key: `project-${i % PROJECTS}`,
      agent_id: uuid(),
      agent_name: null,
      status: s,
      end_reason: s === 'running' ? null : 'agent',
      started_at: started,
      ended_at: s === 'running' ? null : started + 60_000,
      last_activity_at: started + 60_000,
      trace_id: runId.replaceAll('-', ''),
      root_span_id: hex(16),
      parent_span_id: null,
      parent_run_id: null,
      session_id: null,
      trace_flags: 1,
      summary: 'deploy the rate limiter',
      end_summary: s === 'running' ? null : 'done',
      meta: { agent_name: `agent-${Math.floor(rand() * AGENTS)}` },
      totals: {
        input_tokens: input,
        output_tokens: output,
        total_tokens: input + output,
        cost_usd: Math.round(rand() * 1e4) / 1e4,
        llm_calls: 3,
      },
      extra: zeroExtra(),
      models: [model],
      last_model: model,
      provider: null,
      cost_sources: ['reported'],
      failures: failed ? 1 : 0,
      last_error_type: failed ? 'TimeoutError' : null,
      failure_log: failed
        ? [
            {
              failure_id: uuid(),
              at: started + 30_000,
              error_type: 'TimeoutError',
              summary: 'kubectl apply timed out',
              error: null,
              task_id: null,
            },
          ]
        : [],
      events_kept: 0,
      reports: 3,
      reports_dropped: 0,
      events_dropped: 0,
      links: [],
      final_mismatch: false,
      root_exported: s !== 'running',
      implicit: false,
    };
  };
  return (n, offset) => Array.from({ length: n }, (_, i) => one(offset + i));
}

interface Target {
  store: RunStore;
  fill(runs: RunRecord[]): Promise<void>;
  filled(): Promise<void>;
  dispose(): Promise<void>;
}

async function sqliteTarget(): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'oprelay-bench-usage-'));
  const store = new SqliteStore(join(dir, 'runs.sqlite'));
  await store.init();
  return {
    store,
    fill: (runs) => store.transact('bench-fill', async (tx) => void (await Promise.all(runs.map((r) => tx.saveRun(r))))),
    filled: async () => undefined,
    dispose: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function postgresTarget(): Promise<Target> {
  const schema = `bench_usage_${process.pid}`;
  const store = new PostgresStore(PG_ADMIN_URL, { schema });
  const db = new pg.Client({ connectionString: PG_ADMIN_URL, options: `-c search_path=${schema}` });
  await db.connect();
  await store.init();
  return {
    store,
    fill: async (runs) => {
      const params = new ArrayParams();
      await db.query(
        `INSERT INTO runs (${RUN_COLUMN_NAMES}) SELECT * FROM ${params.unnest(...runColumnArrays(runs.map(runColumns)))}`,
        params.values,
      );
    },
    // what autovacuum does on a live database: statistics, and a visibility map for index-only scans
    filled: async () => void (await db.query('VACUUM ANALYZE runs')),
    dispose: async () => {
      await store.close();
      await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await db.end();
    },
  };
}

async function median(times: number, fn: () => Promise<unknown>): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  return ms.sort((a, b) => a - b)[Math.floor(ms.length / 2)]!;
}

const f = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 });

async function measure(target: Target, log: (msg: string) => void): Promise<BenchRow[]> {
  const { store } = target;
  const next = makeRuns();
  const t0 = performance.now();
  for (let done = 0; done < TOTAL; done += BATCH) {
    await target.fill(next(Math.min(BATCH, TOTAL - done), done));
    if ((done + BATCH) % 200_000 === 0) log(`${store.kind}: ${done + BATCH} runs`);
  }
  await target.filled();
  const fillS = (performance.now() - t0) / 1000;
  log(`${store.kind}: filled ${TOTAL} runs in ${fillS.toFixed(0)} s`);
  const day = { since: NOW - DAY, until: NOW };
  const scope = { projects: ['project-3', 'project-4'] };
  const label = `${store.kind}, ${TOTAL.toLocaleString('en-US')} runs`;
  const rows: BenchRow[] = [];
  const row = (figure: string, ms: number, target: number | null) =>
    rows.push([`${label}: ${figure} ms`, f(ms), '', '', target === null ? 'report' : `≤ ${target}`, target === null ? null : ms <= target]);
  for (const group_by of ['agent', 'model'] as const)
    row(
      `usage_summary one project, one day, by ${group_by}`,
      await median(9, () => store.usageSummary({ group_by, project_key: 'project-3', ...day })),
      100,
    );
  for (const group_by of ['project', 'agent', 'model'] as const)
    row(`usage_summary whole store, by ${group_by}`, await median(3, () => store.usageSummary({ group_by })), 2000);
  row(
    'usage_summary key of 2 projects, 7 days, by agent',
    await median(5, () => store.usageSummary({ group_by: 'agent', since: NOW - 7 * DAY, ...scope })),
    2000,
  );
  row('list_runs first page (20)', await median(9, () => store.listRuns({ sort: 'started_at', limit: 20 })), 50);
  row(
    'list_runs first page, one project',
    await median(9, () => store.listRuns({ sort: 'started_at', limit: 20, project_key: 'project-3' })),
    50,
  );
  row(
    'list_runs first page, key of 2 projects, failed',
    await median(9, () => store.listRuns({ sort: 'started_at', limit: 20, status: 'failed', ...scope })),
    50,
  );
  row('list_runs first page, one agent', await median(9, () => store.listRuns({ sort: 'started_at', limit: 20, agent: 'agent-7' })), 50);
  row('recent_failures (20)', await median(9, () => store.failedRuns({ limit: 20 })), null);
  row('recent_failures, key of 2 projects (20)', await median(9, () => store.failedRuns({ limit: 20, ...scope })), null);
  return rows;
}

/** The rows `npm run bench` prints: SQLite, then Postgres (unless it is unreachable). */
export async function usageQueryRows(log: (msg: string) => void = (m) => process.stderr.write(`${m}\n`)): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const only = process.env.BENCH_USAGE_STORE;
  for (const open of [sqliteTarget, postgresTarget].filter((t) => !only || t.name.startsWith(only))) {
    let target: Target;
    try {
      target = await open();
    } catch (e) {
      rows.push([`${open === sqliteTarget ? 'sqlite' : 'postgres'} read tools`, 'not measured', String(e).slice(0, 80), '', '', false]);
      continue;
    }
    try {
      rows.push(...(await measure(target, log)));
    } finally {
      await target.dispose();
    }
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const loadAtStart = loadavg();
  const started = performance.now();
  const rows = await usageQueryRows();
  const lines = ['| figure | bridge | target | |', '|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r[0]} | ${r[1]} | ${r[4]} | ${r[5] === null ? '' : r[5] ? 'pass' : 'FAIL'} |`);
  const at = new Date().toISOString();
  const machine = {
    name: hostname(),
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    node: process.version,
    loadAverage: { atStart: loadAtStart, atEnd: loadavg() },
  };
  const file = join(
    BENCH_DIR,
    'results',
    `${at.slice(0, 10)}-usage-queries${process.env.BENCH_USAGE_STORE ? `-${process.env.BENCH_USAGE_STORE}` : ''}.json`,
  );
  mkdirSync(join(BENCH_DIR, 'results'), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ at, machine, runs: TOTAL, totalS: (performance.now() - started) / 1000, rows }, null, 2)}\n`);
  console.log(`${lines.join('\n')}\n\nload average ${loadAtStart.map((l) => l.toFixed(1)).join(' ')} at start; ${file} written`);
}
