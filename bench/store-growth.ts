/**
 * What grows with the store: EXPLAIN QUERY PLAN of every per-call and housekeeping statement, then
 * the latency of real tool calls (run service + SQLite store, no HTTP) on a store pre-filled with
 * `size` ended runs and 5 × `size` idempotency answers, filled by bulk SQL.
 *
 *   node --import tsx bench/store-growth.ts 10000 100000
 */
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noMetrics } from '../src/runs/effects.js';
import { RETENTION_BATCH } from '../src/runs/retention.js';
import { RunService } from '../src/runs/run-service.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { parseToolArgs } from '../src/tools/validate.js';
import { endArgs, reportArgs, startArgs } from './workload.js';

const sizes = process.argv.slice(2).map(Number);
const CYCLES = Number(process.env.GROWTH_CYCLES ?? 1500);
/** agents calling at once (their calls share group commits, as under load) */
const AGENTS = Number(process.env.GROWTH_AGENTS ?? 12);
/** bytes this process has written to storage and read syscalls so far (Linux /proc/self/io) */
const io = () => {
  const text = readFileSync('/proc/self/io', 'utf8');
  const field = (name: string) => Number(new RegExp(`${name}: (\\d+)`).exec(text)?.[1] ?? 0);
  return { written: field('write_bytes'), reads: field('syscr') };
};
const q = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
const size = (file: string) => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

/** Ended runs and idempotency answers written by bulk SQL, with documents copied from a real run. */
function fill(file: string, runs: number, doc: string, response: string): void {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  const insertRun = db.prepare(
    `INSERT INTO runs (run_id, project_key, agent_id, status, started_at, last_activity_at, cost_usd, parent_run_id, doc)
     VALUES (?, 'bench', 'agent', 'completed', ?, ?, ?, NULL, ?)`,
  );
  const insertIdem = db.prepare('INSERT INTO idempotency (scope, created_at, response, request_hash) VALUES (?, ?, ?, ?)');
  const now = Date.now();
  db.transaction(() => {
    for (let i = 0; i < runs; i++) {
      const id = randomUUID();
      const at = now - (runs - i) * 5;
      insertRun.run(id, at, at + 4, Math.random(), doc.replaceAll('RUNID', id));
      for (let k = 0; k < 5; k++) insertIdem.run(`core_report_usage:${id}:${randomUUID()}`, at, response, 'h'.repeat(64));
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

/** Bytes per run of each table with its indexes (SQLite's dbstat): what run retention bounds. */
function perRun(file: string, runs: number): void {
  const db = new Database(file, { readonly: true });
  const rows = db
    .prepare(
      `SELECT COALESCE(m.tbl_name, s.name) AS tbl, SUM(s.pgsize) AS bytes FROM dbstat s
       LEFT JOIN sqlite_master m ON m.name = s.name GROUP BY tbl ORDER BY bytes DESC`,
    )
    .all() as { tbl: string; bytes: number }[];
  db.close();
  const total = rows.reduce((a, r) => a + r.bytes, 0);
  const parts = rows.filter((r) => r.bytes / runs >= 10).map((r) => `${r.tbl} ${(r.bytes / runs / 1024).toFixed(2)}`);
  process.stdout.write(`  KiB per run, table with its indexes: ${parts.join(', ')}; all ${(total / runs / 1024).toFixed(2)}\n`);
}

function plans(file: string): void {
  const db = new Database(file, { readonly: true });
  const statements: Record<string, string> = {
    getRun: 'SELECT doc FROM runs WHERE run_id = ?',
    getIdem: 'SELECT response, request_hash FROM idempotency WHERE scope = ? AND created_at >= ?',
    events: 'SELECT event FROM run_events WHERE run_id = ? ORDER BY seq',
    activeRuns: "SELECT project_key, COUNT(*) AS n, MIN(started_at) AS oldest FROM runs WHERE status = 'running' GROUP BY project_key",
    stale: `SELECT run_id FROM runs WHERE status = 'running' AND last_activity_at < ? UNION SELECT run_id FROM runs WHERE status = 'running' AND started_at < ? LIMIT ?`,
    outboxStats: 'SELECT COUNT(*) AS depth, MIN(created_at) AS oldest FROM outbox',
    due: 'SELECT id, run_id, created_at, attempts, span FROM outbox WHERE next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?',
    expire: 'DELETE FROM outbox WHERE created_at < ?',
    purgeIdem: 'DELETE FROM idempotency WHERE created_at < ?',
    retentionRuns: `SELECT run_id FROM runs WHERE status IN ('completed', 'failed', 'interrupted') AND last_activity_at < ? LIMIT ?`,
    retentionIdem: 'SELECT rowid FROM idempotency WHERE created_at < ? LIMIT ?',
  };
  for (const [name, sql] of Object.entries(statements)) {
    const detail = db
      .prepare(`EXPLAIN QUERY PLAN ${sql}`)
      .all(...Array.from({ length: (sql.match(/\?/g) ?? []).length }, () => 0))
      .map((r) => (r as { detail: string }).detail);
    process.stdout.write(`  ${name.padEnd(12)} ${detail.join(' | ')}\n`);
  }
  db.close();
}

async function measure(runs: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'oprelay-growth-'));
  const file = join(dir, 'oprelay-bridge.sqlite');
  try {
    // one real run gives the document and answer sizes the bulk rows copy
    let store = new SqliteStore(file);
    await store.init();
    let service = new RunService({ store, metrics: noMetrics, endUsage: 'final', captureContent: true, traceEntries: 'all' });
    const sample = randomUUID();
    await service.startRun(parseToolArgs('core_start_run', startArgs(sample)), {});
    const answer = await service.reportUsage(parseToolArgs('core_report_usage', reportArgs(sample)), {});
    for (let i = 0; i < 4; i++) await service.reportUsage(parseToolArgs('core_report_usage', reportArgs(sample)), {});
    await service.endRun(parseToolArgs('core_end_run', endArgs(sample)), {});
    const doc = JSON.stringify(await store.getRun(sample)).replaceAll(sample, 'RUNID');
    await store.close();
    const filledBefore = Date.now();
    fill(file, runs, doc, JSON.stringify(answer));
    process.stdout.write(
      `\n${runs.toLocaleString()} ended runs, ${(5 * runs).toLocaleString()} idempotency rows, db ${(size(file) / 2 ** 20).toFixed(0)} MiB\n`,
    );
    perRun(file, runs);
    plans(file);

    store = new SqliteStore(file);
    await store.init();
    service = new RunService({ store, metrics: noMetrics, endUsage: 'final', captureContent: true, traceEntries: 'all' });
    const times: number[] = [];
    const timed = async (fn: () => Promise<unknown>) => {
      const t = performance.now();
      await fn();
      times.push(performance.now() - t);
    };
    let maxWal = 0;
    const before = io();
    const started = performance.now();
    let next = 0;
    const agent = async () => {
      while (next++ < CYCLES) {
        const id = randomUUID();
        await timed(() => service.startRun(parseToolArgs('core_start_run', startArgs(id)), {}));
        for (let r = 0; r < 5; r++)
          await timed(() => service.reportUsage(parseToolArgs('core_report_usage', reportArgs(id)), { idempotencyKey: randomUUID() }));
        await timed(() => service.endRun(parseToolArgs('core_end_run', endArgs(id)), {}));
      }
    };
    const relay = async () => {
      while (next < CYCLES) {
        await new Promise((r) => setTimeout(r, 100));
        const rows = await store.claimOutbox('growth', 10_000, 60_000, Date.now());
        await store.ackOutbox(rows.map((r) => r.id));
        maxWal = Math.max(maxWal, size(`${file}-wal`));
      }
    };
    await Promise.all([relay(), ...Array.from({ length: AGENTS }, agent)]);
    const elapsedS = (performance.now() - started) / 1000;
    const after = io();
    const housekeeping: string[] = [];
    for (const [name, fn] of [
      ['findStaleRuns', () => store.findStaleRuns(Date.now() - 3_600_000, Date.now() - 86_400_000, 200)],
      ['activeRuns', () => store.activeRuns()],
      ['purgeIdempotency', () => store.purgeIdempotency(Date.now() - 86_400_000)],
      ['outboxStats', () => store.outboxStats(Date.now())],
    ] as const) {
      const t = performance.now();
      await fn();
      housekeeping.push(`${name} ${(performance.now() - t).toFixed(2)} ms`);
    }
    // retention batches of each kind, on the filled rows (all older than filledBefore): median and slowest of 20
    for (const [name, fn] of [
      [`deleteEndedRuns ${RETENTION_BATCH}`, () => store.deleteEndedRuns(filledBefore, RETENTION_BATCH)],
      [`purgeIdempotency ${RETENTION_BATCH}`, () => store.purgeIdempotency(filledBefore, RETENTION_BATCH)],
    ] as const) {
      const batches: number[] = [];
      for (let i = 0; i < 20; i++) {
        const t = performance.now();
        await fn();
        batches.push(performance.now() - t);
      }
      batches.sort((a, b) => a - b);
      housekeeping.push(`${name}: median ${q(batches, 0.5).toFixed(2)} ms, slowest ${batches[19]!.toFixed(2)} ms`);
    }
    await store.close();
    times.sort((a, b) => a - b);
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    process.stdout.write(
      `  ${times.length} calls (${CYCLES} × start, 5 reports with an idempotency key, end) from ${AGENTS} agents: ${(times.length / elapsedS).toFixed(0)} calls/s, mean ${mean.toFixed(3)} ms, p50 ${q(times, 0.5).toFixed(3)} ms, p99 ${q(times, 0.99).toFixed(3)} ms\n` +
        `  written ${((after.written - before.written) / times.length / 1024).toFixed(1)} KiB/call, ${((after.reads - before.reads) / times.length).toFixed(1)} read syscalls/call; largest WAL ${(maxWal / 2 ** 20).toFixed(1)} MiB\n  ${housekeeping.join(', ')}\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const n of sizes) await measure(n);
