/**
 * Bridge replicas on one Postgres schema: reports/s for one hot run and for many runs, with one and
 * two bridge processes. Each scenario gets a fresh schema and fresh bridges; every call must answer
 * 200 and the stored totals must add up, or the script fails. Writes
 * bench/results/<UTC date>-replicas.json (the machine named in it).
 *
 *   npm run build && PG_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/replicas.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, hostname, loadavg, release } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { BridgeProcess } from '../test/support/bridge-process.js';
import { OtlpCounter } from './otlp-counter.js';
import { BENCH_DIR } from './proc.js';
import { newRunIds, reportArgs, startArgs } from './workload.js';

const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

interface Scenario {
  name: string;
  replicas: 1 | 2;
  runs: number;
  reports: number;
  /** calls in flight per replica */
  inFlight: number;
}

const SCENARIOS: Scenario[] = [
  { name: 'one run, 2 replicas, 16 in flight each', replicas: 2, runs: 1, reports: 2000, inFlight: 16 },
  { name: 'one run, 1 replica, 32 in flight', replicas: 1, runs: 1, reports: 2000, inFlight: 32 },
  { name: '200 runs, 2 replicas, 16 in flight each', replicas: 2, runs: 200, reports: 4000, inFlight: 16 },
  { name: '200 runs, 1 replica, 32 in flight', replicas: 1, runs: 200, reports: 4000, inFlight: 32 },
];

async function scenario(
  s: Scenario,
  counter: OtlpCounter,
  receiverUrl: string,
  admin: pg.Client,
): Promise<{ seconds: number; reportsPerS: number }> {
  const schema = `bench_replicas_${process.pid}_${s.replicas}_${s.runs}`;
  const url = new URL(PG_URL);
  url.searchParams.set('schema', schema);
  const env = {
    BRIDGE_STORE: url.toString(),
    OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl,
    BRIDGE_EXPORT_INTERVAL_MS: '1000',
    BRIDGE_LOG_LEVEL: 'warn',
  };
  const bridges: BridgeProcess[] = [];
  try {
    // started together: the migration lock lets one of them create the tables
    bridges.push(...(await Promise.all(Array.from({ length: s.replicas }, () => BridgeProcess.start(env)))));
    const runIds = newRunIds(s.runs);
    for (const id of runIds) {
      const r = await bridges[0]!.tool('core_start_run', startArgs(id));
      if (r.status !== 200) throw new Error(`core_start_run answered ${r.status}`);
    }
    let next = 0;
    const worker = async (bridge: BridgeProcess) => {
      for (let i = next++; i < s.reports; i = next++) {
        const r = await bridge.tool('core_report_usage', reportArgs(runIds[i % runIds.length]!));
        if (r.status !== 200) throw new Error(`core_report_usage answered ${r.status}: ${JSON.stringify(r.body)}`);
      }
    };
    const t0 = performance.now();
    await Promise.all(bridges.flatMap((b) => Array.from({ length: s.inFlight }, () => worker(b))));
    const seconds = (performance.now() - t0) / 1000;
    let totals = 0;
    for (const id of runIds)
      totals += ((await bridges[0]!.get(`/v1/runs/${id}`)).body as { totals: { input_tokens: number } }).totals.input_tokens;
    if (totals !== 8400 * s.reports) throw new Error(`stored input tokens ${totals}, expected ${8400 * s.reports}`);
    return { seconds, reportsPerS: s.reports / seconds };
  } finally {
    await Promise.all(bridges.map((b) => b.dispose()));
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    counter.reset();
  }
}

const admin = new pg.Client({ connectionString: PG_URL });
await admin.connect();
const counter = new OtlpCounter();
const receiverUrl = await counter.listen();
const loadAtStart = loadavg();
const results: (Scenario & { seconds: number; reportsPerS: number })[] = [];
try {
  for (const s of SCENARIOS) {
    const r = await scenario(s, counter, receiverUrl, admin);
    results.push({ ...s, ...r });
    process.stderr.write(`${s.name}: ${r.reportsPerS.toFixed(0)} reports/s\n`);
  }
} finally {
  await counter.close();
  await admin.end();
}
const at = new Date().toISOString();
const machine = {
  name: hostname(),
  cpus: cpus().length,
  cpu: cpus()[0]?.model,
  kernel: release(),
  node: process.version,
  loadAverage: { atStart: loadAtStart, atEnd: loadavg() },
};
const postgres = PG_URL.replace(/\/\/[^@]*@/, '//');
mkdirSync(join(BENCH_DIR, 'results'), { recursive: true });
const file = join(BENCH_DIR, 'results', `${at.slice(0, 10)}-replicas.json`);
writeFileSync(file, `${JSON.stringify({ at, machine, postgres, results }, null, 2)}\n`);
process.stdout.write(
  `${results.map((r) => `| ${r.name}, ${r.reports.toLocaleString('en-US')} reports | ${r.reportsPerS.toFixed(0)} |`).join('\n')}\n${file} written\n`,
);
