/**
 * GET /v1/runs at scale: fills a temporary store with BENCH_RUNS runs (default 1,000,000), then
 * times filtered listRuns queries and prints each query's plan. sqlite (default) is filled through
 * the RunStore interface in bulk transactions; BENCH_STORE=postgres fills a throwaway schema on
 * 127.0.0.1 with batched INSERTs (bench/list-runs-postgres.ts). Not part of npm test.
 *
 *   node --import tsx bench/list-runs.ts            # sqlite, 1,000,000 runs
 *   BENCH_RUNS=100000 node --import tsx bench/list-runs.ts
 *   BENCH_STORE=postgres node --import tsx bench/list-runs.ts
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { zeroExtra, zeroTotals, type RunRecord, type RunStatus } from '../src/runs/model.js';
import { listRunsSql } from '../src/store/sqlite-list-sql.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { encodeCursor, type RunQuery, type RunStore } from '../src/store/run-store.js';
import { openPostgresTarget } from './list-runs-postgres.js';
import { mulberry32 } from './prng.js';

const TOTAL = Number(process.env.BENCH_RUNS ?? 1_000_000);
const BATCH = 10_000;
const PROJECTS = 20;
const AGENTS = 1000;
const DAYS = 30;
const NOW = Date.now();

/** A store under test: how to fill it in bulk, and how it plans a query. */
export interface ListTarget {
  store: RunStore;
  fill(runs: RunRecord[]): Promise<void>;
  /** called once filled: statistics, read-only handles */
  filled(): Promise<void>;
  /** the plan of listRuns(q), one line */
  plan(q: RunQuery): Promise<string>;
  size(): Promise<string>;
  dispose(): Promise<void>;
}

const rand = mulberry32(42);
const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('');
const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-8${hex(3)}-${hex(12)}`;
const agents = Array.from({ length: AGENTS }, uuid);

function statusOf(r: number): RunStatus {
  if (r < 0.02) return 'running';
  if (r < 0.87) return 'completed';
  if (r < 0.97) return 'failed';
  return 'interrupted';
}

function makeRun(i: number): RunRecord {
  const runId = uuid();
  const status = statusOf(rand());
  const started = NOW - Math.floor(rand() * DAYS * 86_400_000);
  const input = Math.floor(rand() * 20_000);
  const output = Math.floor(rand() * 4_000);
  const cost = Math.round(Math.exp(rand() * 6 - 4) * 1e4) / 1e4; // ~0.02 … 7 USD, skewed low
  const ended = status === 'running' ? null : started + Math.floor(rand() * 600_000);
  return {
    run_id: runId,
    project_key: `project-${i % PROJECTS}`,
    agent_id: agents[Math.floor(rand() * AGENTS)],
    agent_name: null,
    status,
    end_reason: status === 'running' ? null : status === 'interrupted' ? 'idle_timeout' : 'agent',
    started_at: started,
    ended_at: ended,
    last_activity_at: ended ?? started,
    trace_id: runId.replaceAll('-', ''),
    root_span_id: hex(16),
    parent_span_id: null,
    parent_run_id: null,
    session_id: null,
    trace_flags: 1,
    summary: 'triage incoming tickets',
    end_summary: status === 'running' ? null : 'done',
    meta: { agent_name: 'triage' },
    totals: { ...zeroTotals(), input_tokens: input, output_tokens: output, total_tokens: input + output, cost_usd: cost, llm_calls: 3 },
    extra: zeroExtra(),
    models: ['gpt-4o'],
    last_model: 'gpt-4o',
    provider: 'openai',
    cost_sources: ['reported'],
    failures: status === 'failed' ? 1 : 0,
    last_error_type: status === 'failed' ? 'TimeoutError' : null,
    events_kept: 0,
    reports: 3,
    reports_dropped: 0,
    events_dropped: 0,
    links: [],
    final_mismatch: false,
    root_exported: status !== 'running',
    implicit: false,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function openSqliteTarget(): Promise<ListTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'oprelay-bench-list-'));
  const file = join(dir, 'runs.sqlite');
  const store = new SqliteStore(file);
  await store.init();
  let ro: Database.Database | undefined;
  return {
    store,
    fill: (runs) =>
      store.transact('bench-fill', async (tx) => {
        for (const run of runs) await tx.saveRun(run);
      }),
    filled: async () => {
      ro = new Database(file, { readonly: true });
    },
    plan: async (q) => {
      const { sql, params } = listRunsSql(q);
      return (ro!.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail).join('; ');
    },
    size: async () => `db ${(statSync(file).size / 1e6).toFixed(0)} MB`,
    dispose: async () => {
      ro?.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function main(): Promise<void> {
  const target = process.env.BENCH_STORE === 'postgres' ? await openPostgresTarget() : await openSqliteTarget();
  const { store } = target;
  try {
    const t0 = performance.now();
    for (let done = 0; done < TOTAL; done += BATCH) {
      const n = Math.min(BATCH, TOTAL - done);
      await target.fill(Array.from({ length: n }, (_, i) => makeRun(done + i)));
      if ((done + n) % 100_000 === 0) process.stderr.write(`  ${done + n} runs\n`);
    }
    await target.filled();
    const fillS = (performance.now() - t0) / 1000;
    console.log(
      `${store.kind}: filled ${TOTAL.toLocaleString('en')} runs in ${fillS.toFixed(1)} s (${Math.round(TOTAL / fillS).toLocaleString('en')} runs/s), ${await target.size()}`,
    );

    const midnight = new Date(NOW).setUTCHours(0, 0, 0, 0);
    const sample = agents[7];
    const queries: [string, Omit<RunQuery, 'limit'> & { limit?: number }][] = [
      ['newest 50 (no filter)', { sort: 'started_at' }],
      ['project_key=project-3', { sort: 'started_at', project_key: 'project-3' }],
      ['key scoped to 2 projects', { sort: 'started_at', projects: ['project-1', 'project-2'] }],
      ['key scoped to 2 projects, sort=cost', { sort: 'cost', projects: ['project-1', 'project-2'] }],
      ['status=running', { sort: 'started_at', status: 'running' }],
      ['status=failed & project', { sort: 'started_at', status: 'failed', project_key: 'project-5' }],
      ['agent_id=<one agent>', { sort: 'started_at', agent_id: sample }],
      ['since=24h ago', { sort: 'started_at', since: NOW - 86_400_000 }],
      ['min_cost=5', { sort: 'started_at', min_cost: 5 }],
      ['sort=cost', { sort: 'cost' }],
      ['sort=cost & project', { sort: 'cost', project_key: 'project-9' }],
      ['limit=500', { sort: 'started_at', limit: 500 }],
    ];
    console.log('\n| query | page 1 (ms, median of 20) | page 2 via cursor (ms) | rows | plan |');
    console.log('|---|---|---|---|---|');
    for (const [label, partial] of queries) {
      const q: RunQuery = { limit: 50, ...partial };
      const first: number[] = [];
      const second: number[] = [];
      let rows = 0;
      for (let i = 0; i < 20; i++) {
        let t = performance.now();
        const page = await store.listRuns(q);
        first.push(performance.now() - t);
        rows = page.runs.length;
        if (page.next_cursor) {
          t = performance.now();
          await store.listRuns({ ...q, cursor: page.next_cursor });
          second.push(performance.now() - t);
        }
      }
      const plan1 = await target.plan(q);
      const plan2 = second.length ? await target.plan({ ...q, cursor: encodeCursor(q.sort === 'cost' ? 1 : NOW, 'x') }) : plan1;
      const plan = plan1 === plan2 ? plan1 : `page 1: ${plan1} / page 2: ${plan2}`;
      console.log(`| ${label} | ${median(first).toFixed(2)} | ${second.length ? median(second).toFixed(2) : '-'} | ${rows} | ${plan} |`);
    }

    // What budgets.ts does per project: page through runs started since UTC midnight.
    const spentTimes: number[] = [];
    let spentRuns = 0;
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      let cursor: string | undefined;
      spentRuns = 0;
      do {
        const page = await store.listRuns({ sort: 'started_at', project_key: 'project-4', since: midnight, limit: 500, cursor });
        spentRuns += page.runs.length;
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
      spentTimes.push(performance.now() - t);
    }
    console.log(
      `\nbudget spent-today scan (one project, ${spentRuns} runs since UTC midnight): ${median(spentTimes).toFixed(1)} ms median of 5`,
    );
  } finally {
    await target.dispose();
  }
}

await main();
