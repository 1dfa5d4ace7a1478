/**
 * The soak: 12 agents, each looping start → 5 reports (3 trace entries, an Idempotency-Key each) →
 * end, against a bridge on SQLite whose collector is down 8 s in every 30 s, with a short run
 * retention so it deletes during the soak. Prints p99 per window, RSS, open files, store size (db +
 * WAL) and rows per window, and the ratio of the last window's p99 to the first's.
 * Part of `npm run bench`; alone: `npm run build && node --import tsx bench/soak.ts`.
 *
 * BENCH_SOAK_SECONDS (default 60, after BENCH_SOAK_WARMUP_SECONDS, 10, not counted),
 * BENCH_SOAK_WINDOW_SECONDS (30), BENCH_SOAK_RETENTION (10s; off keeps every run), BENCH_SOAK_AGENTS (12).
 */
import Database from 'better-sqlite3';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BridgeProcess, tempDir } from '../test/support/bridge-process.js';
import { BENCH_DIR, rssKiB, runJson, sleep } from './proc.js';
import { SoakCollector } from './soak-collector.js';
import type { SoakLoadSpec, SoakWindow } from './soak-load.js';

const DOWN_S = 8;
const PERIOD_S = 30;
/** targets: last window / first (p99); last window / middle window, once retention applies (RSS, store size) */
const P99_TARGET = 1.5;
const FLAT_TARGET = 1.25;

interface Sample {
  rssMiB: number;
  openFiles: number;
  dbMiB: number;
  walMiB: number;
  runs: number;
  idempotency: number;
  outbox: number;
}

const mib = (file: string) => {
  try {
    return statSync(file).size / 2 ** 20;
  } catch {
    return 0;
  }
};

function sample(bridge: BridgeProcess, file: string): Sample {
  const pid = bridge.child.pid!;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const count = (table: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    return {
      rssMiB: rssKiB(pid) / 1024,
      openFiles: readdirSync(`/proc/${pid}/fd`).length,
      dbMiB: mib(file),
      walMiB: mib(`${file}-wal`),
      runs: count('runs'),
      idempotency: count('idempotency'),
      outbox: count('outbox'),
    };
  } finally {
    db.close();
  }
}

/** Takes the collector down DOWN_S seconds at the end of every PERIOD_S until `done`. */
async function outages(collector: SoakCollector, done: () => boolean): Promise<number> {
  const t0 = performance.now();
  let n = 0;
  for (let period = 0; !done(); period++) {
    const downAt = t0 + (period * PERIOD_S + PERIOD_S - DOWN_S) * 1000;
    while (!done() && performance.now() < downAt) await sleep(100);
    if (done()) break;
    await collector.down();
    n++;
    const upAt = t0 + (period + 1) * PERIOD_S * 1000;
    while (!done() && performance.now() < upAt) await sleep(100);
    await collector.up();
  }
  await collector.up();
  return n;
}

export async function soakBench(): Promise<{ table: string; missed: string[] }> {
  const durationS = Number(process.env.BENCH_SOAK_SECONDS ?? 60);
  const windowS = Number(process.env.BENCH_SOAK_WINDOW_SECONDS ?? 30);
  const retention = process.env.BENCH_SOAK_RETENTION ?? '10s';
  const agents = Number(process.env.BENCH_SOAK_AGENTS ?? 12);
  const warmupS = Number(process.env.BENCH_SOAK_WARMUP_SECONDS ?? 10);
  const collector = new SoakCollector();
  const url = await collector.up();
  const env = {
    OTEL_EXPORTER_OTLP_ENDPOINT: url,
    BRIDGE_EXPORT_INTERVAL_MS: '1000',
    BRIDGE_RETRY_MAX_BACKOFF: '2s',
    BRIDGE_RUN_RETENTION: retention,
    BRIDGE_LOG_LEVEL: 'warn',
  };
  const bridge = await BridgeProcess.start(env, tempDir('oprelay-soak-'));
  const file = join(bridge.dataDir, 'oprelay-bridge.sqlite');
  const samples: Sample[] = [];
  let loadDone = false;
  try {
    const spec: SoakLoadSpec = { url: bridge.url, agents, warmupS, durationS, windowS };
    const load = runJson<SoakWindow[]>('soak-load.ts', spec, (warmupS + durationS + 60) * 1000).finally(() => (loadDone = true));
    const down = outages(collector, () => loadDone);
    const t0 = performance.now() + warmupS * 1000;
    for (let i = 1; i <= Math.floor(durationS / windowS); i++) {
      await sleep(Math.max(0, t0 + i * windowS * 1000 - performance.now()));
      samples.push(sample(bridge, file));
    }
    const windows = await load;
    const outageCount = await down;
    // the collector is up again: everything still in the outbox must now be delivered
    const drainStart = performance.now();
    let left = sample(bridge, file);
    while (left.outbox > 0 && performance.now() - drainStart < 120_000) {
      await sleep(500);
      left = sample(bridge, file);
    }
    const deadLetters = (() => {
      const db = new Database(file, { readonly: true });
      const n = (db.prepare('SELECT COUNT(*) AS n FROM dead_letters').get() as { n: number }).n;
      db.close();
      return n;
    })();
    return report({ durationS, windowS, retention, agents, windows, samples, left, deadLetters, outageCount, spans: collector.spans });
  } finally {
    await bridge.dispose();
    await collector.down();
  }
}

interface SoakFigures {
  durationS: number;
  windowS: number;
  retention: string;
  agents: number;
  windows: SoakWindow[];
  samples: Sample[];
  left: Sample;
  deadLetters: number;
  outageCount: number;
  spans: number;
}

function report(r: SoakFigures): { table: string; missed: string[] } {
  const f = (n: number, d = 0) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
  const header = [
    'window',
    'calls/s',
    'p50 ms',
    'p99 ms',
    'failed',
    'RSS MiB',
    'open files',
    'db MiB',
    'WAL MiB',
    'runs',
    'idempotency rows',
  ];
  const cells = r.windows.map((w, i) => {
    const s = r.samples[i];
    const end = (i + 1) * r.windowS;
    return [
      `${end - r.windowS}–${end} s`,
      f(w.calls / r.windowS),
      f(w.p50, 1),
      f(w.p99, 1),
      f(w.failed),
      s ? f(s.rssMiB, 1) : '',
      s ? f(s.openFiles) : '',
      s ? f(s.dbMiB, 1) : '',
      s ? f(s.walMiB, 1) : '',
      s ? f(s.runs) : '',
      s ? f(s.idempotency) : '',
    ];
  });
  const rows = [header, ...cells];
  const widths = header.map((_, i) => Math.max(...rows.map((c) => c[i].length)));
  const line = (c: string[]) => `| ${c.map((v, i) => v.padEnd(widths[i])).join(' | ')} |`;
  const lines = [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)];
  const missed: string[] = [];
  const first = r.windows[0];
  const last = r.windows[r.windows.length - 1];
  const failed = r.windows.reduce((a, w) => a + w.failed, 0);
  if (first && last && r.windows.length > 1) {
    const ratio = last.p99 / first.p99;
    lines.push('', `p99 last / first window: ${ratio.toFixed(2)}× (target ≤ ${P99_TARGET}×) ${ratio <= P99_TARGET ? 'pass' : 'FAIL'}`);
    if (ratio > P99_TARGET) missed.push(`soak p99 last / first window ${ratio.toFixed(2)}×`);
  }
  // flat once retention applies: the last window against the middle one (the WAL and the outbox's
  // backlog reach their high-water marks in the first windows), when the middle one ends after the retention
  const retentionS = /^\d+s$/.test(r.retention) ? Number(r.retention.slice(0, -1)) : Infinity;
  const middle = Math.floor((r.samples.length - 1) / 2);
  const lastSample = r.samples[r.samples.length - 1];
  // without retention (or one longer than the soak's first half) the same ratios are printed with no target
  const applies = (middle + 1) * r.windowS >= retentionS + 2;
  if (middle > 0 && lastSample) {
    const base = r.samples[middle];
    for (const [name, value] of [
      ['RSS', (s: Sample) => s.rssMiB],
      ['store size (db + WAL)', (s: Sample) => s.dbMiB + s.walMiB],
    ] as const) {
      const ratio = value(lastSample) / value(base);
      const ok = ratio <= FLAT_TARGET;
      const verdict = applies ? `(target ≤ ${FLAT_TARGET}×) ${ok ? 'pass' : 'FAIL'}` : `(no target: retention ${r.retention})`;
      lines.push(`${name} last window / window ${middle + 1}: ${ratio.toFixed(2)}× ${verdict}`);
      if (applies && !ok) missed.push(`soak ${name} grew ${ratio.toFixed(2)}× once retention applied`);
    }
  } else {
    lines.push('RSS and store size flatness: not measured (needs 3 windows or more)');
  }
  lines.push(
    `${r.agents} agents, ${r.durationS} s, collector down ${DOWN_S} s in every ${PERIOD_S} s (${r.outageCount} outages), retention ${r.retention}; ` +
      `${f(failed)} failed calls; ${f(r.spans)} spans delivered; after the load: ${f(r.left.outbox)} spans left in the outbox, ${f(r.deadLetters)} dead letters`,
  );
  if (failed > 0) missed.push(`soak: ${failed} failed calls`);
  if (r.left.outbox > 0 || r.deadLetters > 0) missed.push(`soak: ${r.left.outbox} spans undelivered, ${r.deadLetters} dead letters`);
  const table = lines.join('\n');
  const at = new Date().toISOString();
  mkdirSync(join(BENCH_DIR, 'results'), { recursive: true });
  const resultsFile = join(BENCH_DIR, 'results', `${at.slice(0, 10)}-soak.json`);
  writeFileSync(resultsFile, `${JSON.stringify({ at, ...r, table }, null, 2)}\n`);
  return { table: `${table}\n${resultsFile} written`, missed };
}

/** Runs the soak, prints its table, and sets exit code 1 when it misses a target (`npm run bench` calls this last). */
export async function runSoak(log: (msg: string) => void = () => undefined): Promise<void> {
  log(`soak: ${process.env.BENCH_SOAK_SECONDS ?? 60} s, collector down ${DOWN_S} s in every ${PERIOD_S} s`);
  const { table, missed } = await soakBench();
  process.stdout.write(`\nsoak (SQLite):\n${table}\n`);
  if (missed.length > 0) {
    process.stderr.write(`soak targets missed: ${missed.join('; ')}\n`);
    process.exitCode = 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runSoak();
