/**
 * `npm run bench`: every figure next to a baseline measured in the same run; prints a table and
 * writes bench/results.json. Bounded to about two and a half minutes on a 2-core machine.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { BridgeProcess, tempDir } from '../test/support/bridge-process.js';
import type { SideCost } from './agent-overhead.js';
import { endToRootLatency, exportFromOutbox, waitQuiet } from './export-bench.js';
import type { LoadResult } from './load-worker.js';
import { memoryPoints } from './memory-bench.js';
import { OtlpCounter } from './otlp-counter.js';
import { BENCH_DIR, runJson } from './proc.js';
import { CONNECTIONS, RUNS, baselineLoad, bridgeLoad, postgresLoad, type LoadOptions } from './throughput-bench.js';

const LOAD: LoadOptions = { durationS: Number(process.env.BENCH_DURATION_S ?? 10), warmupS: 2 };
const INTERVAL_MS = 1000;
const started = performance.now();
const log = (msg: string) => process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(0)}s] ${msg}\n`);

const counter = new OtlpCounter();
const receiverUrl = await counter.listen();
const sdkCounter = new OtlpCounter();
const sdkReceiverUrl = await sdkCounter.listen();
const ENV = {
  OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl,
  BRIDGE_EXPORT_INTERVAL_MS: String(INTERVAL_MS),
  BRIDGE_LOG_LEVEL: 'warn',
};

log(`baseline: bare express 5, ${CONNECTIONS} connections, ${LOAD.durationS}s`);
const baseline = await baselineLoad(LOAD);

log('sqlite bridge: core_report_usage with 5 trace entries');
const bridge = await BridgeProcess.start(ENV, tempDir('oprelay-bench-'));
let sqlite: LoadResult;
let agent: { bridge: SideCost; sdk: SideCost };
let latency;
let liveDrainMs: number;
let sdkSpans: number;
try {
  const r = await bridgeLoad(bridge, LOAD);
  sqlite = r.load;
  log('waiting for the relay to drain what the load produced');
  liveDrainMs = await waitQuiet(counter, 2500, 60_000);
  log('agent-side cost: bridge call vs in-process OTel SDK');
  sdkCounter.reset();
  agent = await runJson('agent-overhead.ts', { bridgeUrl: bridge.url, receiverUrl: sdkReceiverUrl, runIds: r.runIds, bridgeCalls: 1000, sdkReports: 5000 });
  sdkSpans = sdkCounter.spans;
  log('core_end_run → root span at the receiver, 30 samples');
  counter.reset();
  latency = await endToRootLatency(bridge, counter, 30);
} finally {
  await bridge.dispose();
}

// each store's load is compared with a baseline measured right before it (this VM drifts)
log('baseline again, for the postgres figure');
const pgBaseline = await baselineLoad(LOAD);
log('postgres bridge');
const postgres = await postgresLoad(ENV, LOAD);

log('export: 100k spans from a filled outbox');
const exp = await exportFromOutbox(counter, receiverUrl, ENV);

log('memory: 0, 10k, 100k open runs');
const mem = await memoryPoints(ENV);
await counter.close();
await sdkCounter.close();

// ---- table ----
type Row = [string, string, string, string, string, boolean | null];
const f = (n: number, d = 0) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const x = (n: number) => `${n.toFixed(2)}×`;
const rows: Row[] = [];
const loadRows = (label: string, l: LoadResult, baseline: LoadResult, minRatio: number) => {
  rows.push([`${label} req/s`, f(l.rps), f(baseline.rps), x(l.rps / baseline.rps), `≥ ${minRatio}×`, l.rps / baseline.rps >= minRatio]);
  rows.push([`${label} p50 ms`, f(l.p50, 1), f(baseline.p50, 1), x(l.p50 / baseline.p50), '', null]);
  rows.push([`${label} p99 ms`, f(l.p99, 1), f(baseline.p99, 1), x(l.p99 / baseline.p99), minRatio === 0.8 ? '≤ 2×' : '', minRatio === 0.8 ? l.p99 / baseline.p99 <= 2 : null]);
};
loadRows('sqlite report_usage', sqlite, baseline, 0.8);
if (postgres.load) loadRows('postgres report_usage', postgres.load, pgBaseline, 0.5);
else rows.push(['postgres report_usage req/s', 'skipped', f(pgBaseline.rps), '', '≥ 0.5×', null]);
rows.push(['export spans/s (100k outbox)', f(exp.spansPerS), f(exp.ceiling.spansPerS), x(exp.spansPerS / exp.ceiling.spansPerS), '≥ 20,000/s', exp.spansPerS >= 20_000]);
rows.push([`end_run → root p50 ms (interval ${INTERVAL_MS})`, f(latency.p50Ms), f(INTERVAL_MS), x(latency.p50Ms / INTERVAL_MS), `≤ ${INTERVAL_MS + 50}`, latency.p50Ms <= INTERVAL_MS + 50]);
rows.push([`end_run → root p90 / max ms`, `${f(latency.p90Ms)} / ${f(latency.maxMs)}`, '', '', '', null]);
const [m0, m10, m100] = mem;
const perRun = (m100.rssKiB - m0.rssKiB) / m100.openRuns;
rows.push(['RSS MiB, 10k / 100k open runs (vs 0)', `${f(m10.rssKiB / 1024, 1)} / ${f(m100.rssKiB / 1024, 1)}`, f(m0.rssKiB / 1024, 1), '', '', null]);
rows.push(['RSS growth per open run (0 → 100k)', `${perRun.toFixed(3)} KiB`, '', '', '≤ 0.5 KiB', perRun <= 0.5]);
rows.push(['agent wall µs/report: bridge vs SDK', f(agent.bridge.wallUs), f(agent.sdk.wallUs), x(agent.bridge.wallUs / agent.sdk.wallUs), 'report', null]);
rows.push(['agent CPU µs/report: bridge vs SDK', f(agent.bridge.cpuUs), f(agent.sdk.cpuUs), x(agent.bridge.cpuUs / agent.sdk.cpuUs), 'report', null]);

const header: Row = ['figure', 'bridge', 'baseline', 'ratio', 'target', null];
const cells = [header, ...rows].map((r) => [...r.slice(0, 5), r[5] === null ? '' : r[5] ? 'pass' : 'FAIL'] as string[]);
const widths = cells[0].map((_, i) => Math.max(...cells.map((c) => c[i].length)));
const line = (c: string[]) => `| ${c.map((v, i) => v.padEnd(widths[i])).join(' | ')} |`;
const table = [line(cells[0]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');

const results = {
  at: new Date().toISOString(),
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, platform: process.platform },
  settings: { connections: CONNECTIONS, runs: RUNS, durationS: LOAD.durationS, warmupS: LOAD.warmupS, exportIntervalMs: INTERVAL_MS },
  throughput: { baseline, sqlite, pgBaseline, postgres },
  export: exp,
  liveDrainMs,
  latency,
  memory: mem,
  agent: { ...agent, sdkSpansDelivered: sdkSpans, sdkSpansExpected: 6 * (5000 + 200) },
  totalS: (performance.now() - started) / 1000,
  table,
};
writeFileSync(join(BENCH_DIR, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`\n${table}\n\nbaselines: bare express 5 (same POST, same load, measured right before each store's load); exporter alone on the same records; export interval; RSS at 0 open runs; OTel SDK in the agent.\n`);
process.stdout.write(`${cpus().length} cores, Node ${process.version}; total ${results.totalS.toFixed(0)} s; bench/results.json written\n`);
