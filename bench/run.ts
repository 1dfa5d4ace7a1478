/**
 * `npm run bench`: every figure next to a baseline measured in the same run; prints a table and
 * writes bench/results/<UTC date>.json (the machine named in it), to be committed with the figures
 * quoted from it. Exits 1 when a target is missed. About four minutes on a 2-core machine.
 *
 *   npm run bench -- --only=http,relay --duration=5     some sections, shorter loads
 *   npm run bench -- --only=postgres --connections=64   a load of 64 connections instead of 32 (baseline too)
 *
 * Sections: http (SQLite tool calls vs bare express), agent (agent-side cost), latency
 * (end_run → root span), postgres, relay (100k outbox, both protocols), memory, redaction.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, hostname, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BridgeProcess, tempDir } from '../test/support/bridge-process.js';
import {
  agentCost,
  httpSection,
  latencySection,
  memoryRows,
  postgresSection,
  redactionRows,
  relaySection,
  type SectionContext,
} from './sections.js';
import { OtlpCounter } from './otlp-counter.js';
import { BENCH_DIR } from './proc.js';
import { runSoak } from './soak.js';
import { renderTable, type Row } from './table.js';
import { CONNECTIONS, RUNS } from './throughput-bench.js';
import { usageQueryRows } from './usage-queries.js';

const SECTIONS = ['http', 'agent', 'latency', 'postgres', 'relay', 'memory', 'redaction', 'usage', 'soak'] as const;
const { values: args } = parseArgs({
  options: { only: { type: 'string' }, duration: { type: 'string' }, rounds: { type: 'string' }, connections: { type: 'string' } },
});
const only = args.only ? args.only.split(',').map((s) => s.trim()) : [...SECTIONS];
const unknown = only.filter((s) => !(SECTIONS as readonly string[]).includes(s));
if (unknown.length) throw new Error(`--only: unknown section ${unknown.join(', ')}; sections are ${SECTIONS.join(', ')}`);
const durationS = Number(args.duration ?? process.env.BENCH_DURATION_S ?? 10);
if (!(durationS > 0))
  throw new Error(
    `--duration (or BENCH_DURATION_S) must be a number of seconds above 0, got ${args.duration ?? process.env.BENCH_DURATION_S}`,
  );
const rounds = Number(args.rounds ?? process.env.BENCH_ROUNDS ?? 3);
if (!Number.isInteger(rounds) || rounds < 1)
  throw new Error(`--rounds (or BENCH_ROUNDS) must be a whole number of rounds, 1 or more, got ${args.rounds ?? process.env.BENCH_ROUNDS}`);
const connections = Number(args.connections ?? CONNECTIONS);
if (!Number.isInteger(connections) || connections < 1)
  throw new Error(`--connections must be a whole number of connections, 1 or more, got ${args.connections}`);
const INTERVAL_MS = 1000;
const started = performance.now();
const loadAtStart = loadavg();
const log = (msg: string) => process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(0)}s] ${msg}\n`);

const counter = new OtlpCounter();
const receiverUrl = await counter.listen();
const ctx: SectionContext = {
  log,
  counter,
  receiverUrl,
  load: { durationS, warmupS: 2, rounds, connections },
  intervalMs: INTERVAL_MS,
  env: {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl,
    BRIDGE_EXPORT_INTERVAL_MS: String(INTERVAL_MS),
    BRIDGE_LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
  },
};
const rows: Row[] = [];
const results: Record<string, unknown> = {};
const skipped: string[] = [];

// http, agent and latency share one SQLite bridge (agent and latency reuse the runs the load started)
if (only.some((s) => s === 'http' || s === 'agent' || s === 'latency')) {
  const bridge = await BridgeProcess.start(ctx.env, tempDir('oprelay-bench-'));
  let runIds: string[] | undefined;
  try {
    if (only.includes('http')) {
      const http = await httpSection(ctx, bridge);
      rows.push(...http.rows);
      results.http = http.results;
      runIds = http.runIds;
    }
    if (only.includes('agent')) {
      const agent = await agentCost(ctx, bridge, runIds);
      rows.push(...agent.rows);
      results.agent = agent.results;
    }
    if (only.includes('latency')) {
      const latency = await latencySection(ctx, bridge);
      rows.push(...latency.rows);
      results.latency = latency.results;
    }
  } finally {
    await bridge.dispose();
  }
}
if (only.includes('postgres')) {
  const pg = await postgresSection(ctx);
  rows.push(...pg.rows);
  results.postgres = pg.results;
  if (pg.skipped) skipped.push(pg.skipped);
}
if (only.includes('relay')) {
  const relay = await relaySection(ctx);
  rows.push(...relay.rows);
  results.relay = relay.results;
}
if (only.includes('memory')) {
  const memory = await memoryRows(ctx);
  rows.push(...memory.rows);
  results.memory = memory.results;
}
await counter.close();
if (only.includes('redaction')) {
  const redaction = redactionRows(ctx);
  rows.push(...redaction.rows);
  results.redaction = redaction.results;
}
if (only.includes('usage')) rows.push(...(await usageQueryRows(log)));

const table = renderTable(rows);
const at = new Date().toISOString();
const full = only.length === SECTIONS.length;
const out = {
  at,
  sections: only,
  machine: {
    name: hostname(),
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    platform: process.platform,
    // other work on the machine moves every figure; the load average says how much there was
    loadAverage: { atStart: loadAtStart, atEnd: loadavg() },
  },
  settings: { connections, runs: RUNS, durationS, rounds, warmupS: ctx.load.warmupS, exportIntervalMs: INTERVAL_MS },
  ...results,
  totalS: (performance.now() - started) / 1000,
  table,
};
const resultsFile = join(BENCH_DIR, 'results', `${at.slice(0, 10)}${full ? '' : `-${only.join('-')}`}.json`);
mkdirSync(join(BENCH_DIR, 'results'), { recursive: true });
writeFileSync(resultsFile, `${JSON.stringify(out, null, 2)}\n`);
process.stdout.write(
  `\n${table}\n\nbaselines: bare express 5 (plain node, NODE_ENV=production, same POST, same load, taken in turn with each store's load, medians of the rounds); OpenTelemetry JS's exporter alone on the same records; the OTel SDK's batch processor at the same interval; RSS at 0 open runs; OTel SDK in the agent; plain prose for redaction.\n`,
);
process.stdout.write(
  `${hostname()}: ${cpus().length} × ${cpus()[0]?.model}, Node ${process.version}, load average ${loadAtStart.map((l) => l.toFixed(1)).join(' ')} at start; total ${out.totalS.toFixed(0)} s; ${resultsFile} written\n`,
);
const missed = rows.filter((r) => r[5] === false).map((r) => r[0]);
for (const s of skipped) process.stderr.write(`${s}\n`);
if (missed.length > 0) {
  process.stderr.write(`targets missed: ${missed.join('; ')}\n`);
  process.exitCode = 1;
}
if (only.includes('soak')) await runSoak(log);
