/** The sections of `npm run bench` (bench/run.ts): each measures, and returns its table rows and raw figures. */
import type { BridgeProcess } from '../test/support/bridge-process.js';
import type { SideCost } from './agent-overhead.js';
import { endToRootLatency, exportFromOutbox, sdkRootLatency, waitQuiet } from './export-bench.js';
import type { LoadResult } from './load-worker.js';
import { memoryPoints } from './memory-bench.js';
import { OtlpCounter } from './otlp-counter.js';
import { availableParallelism } from 'node:os';
import { runJson } from './proc.js';
import { SWEEP_SIZES, redactionSweep } from './redact-sweep.js';
import { f, x, type Row } from './table.js';
import { alternate, bridgeLoad, postgresLoad, type LoadOptions } from './throughput-bench.js';

export interface SectionContext {
  log: (msg: string) => void;
  counter: OtlpCounter;
  receiverUrl: string;
  load: LoadOptions;
  intervalMs: number;
  env: Record<string, string>;
}

export interface Section {
  rows: Row[];
  results: unknown;
}

/** Targets against the bare express baseline of the same run. */
export const TARGETS = { sqliteRps: 0.8, sqliteP99: 2, sqliteCpu: 1.5, postgresRps: 0.6, relaySpansPerS: 60_000 };

function loadRows(label: string, l: LoadResult, base: LoadResult, targets: { rps: number; p99?: number; cpu?: number }): Row[] {
  const rows: Row[] = [];
  rows.push([`${label} req/s`, f(l.rps), f(base.rps), x(l.rps / base.rps), `≥ ${targets.rps}×`, l.rps / base.rps >= targets.rps]);
  rows.push([`${label} p50 ms`, f(l.p50, 1), f(base.p50, 1), x(l.p50 / base.p50), '', null]);
  const p99 = l.p99 / base.p99;
  rows.push([
    `${label} p99 ms`,
    f(l.p99, 1),
    f(base.p99, 1),
    x(p99),
    targets.p99 ? `≤ ${targets.p99}×` : '',
    targets.p99 ? p99 <= targets.p99 : null,
  ]);
  if (l.cpuUsPerCall !== null && base.cpuUsPerCall !== null) {
    const cpu = l.cpuUsPerCall / base.cpuUsPerCall;
    // truncating would flatter a ratio with an upper bound: shown rounded up
    const shown = `${(Math.ceil(cpu * 100) / 100).toFixed(2)}×`;
    rows.push([
      `${label} CPU µs/call (all threads)`,
      f(l.cpuUsPerCall),
      f(base.cpuUsPerCall),
      shown,
      targets.cpu ? `≤ ${targets.cpu}×` : '',
      targets.cpu ? cpu <= targets.cpu : null,
    ]);
  }
  return rows;
}

/**
 * Where the machine's CPU goes per call (every core, every process: the bridge or bare express, the
 * PostgreSQL server, the load generator, and the rest: the OTLP receiver, the kernel's network and
 * disk work, other processes), and how much the cores give per call at the target's rate: a store
 * whose calls take more than that cannot reach the target on this machine however its time is spent.
 */
function machineRows(label: string, l: LoadResult, base: LoadResult, targetRps: number): Row[] {
  if (l.machineUsPerCall === undefined || base.machineUsPerCall === undefined || l.cpuUsPerCall === null || base.cpuUsPerCall === null) {
    return [];
  }
  const cores = availableParallelism();
  const budget = (cores * 1_000_000) / (targetRps * base.rps);
  const rest = (r: LoadResult) => r.machineUsPerCall! - r.cpuUsPerCall! - (r.loaderUsPerCall ?? 0) - (r.postgresUsPerCall ?? 0);
  const part = (figure: string, pick: (r: LoadResult) => number | undefined): Row => {
    const a = pick(l);
    const b = pick(base);
    return [`${label} ${figure}`, a === undefined ? '' : f(a), b === undefined ? '' : f(b), '', '', null];
  };
  return [
    [
      `${label} machine CPU µs/call (${cores} cores)`,
      f(l.machineUsPerCall),
      f(base.machineUsPerCall),
      x(l.machineUsPerCall / base.machineUsPerCall),
      '',
      null,
    ],
    part('  of which PostgreSQL server', (r) => r.postgresUsPerCall),
    part('  of which load generator', (r) => r.loaderUsPerCall),
    part('  of which the rest', rest),
    [`${label} machine CPU µs/call at ${targetRps}× the baseline's rate`, f(budget), '', '', '', null],
  ];
}

/** SQLite tool calls (core_report_usage with 5 trace entries) against bare express, loaded in turn. */
export async function httpSection(ctx: SectionContext, bridge: BridgeProcess): Promise<Section & { runIds: string[] }> {
  let runIds: string[] = [];
  const r = await alternate(
    ctx.load,
    async () => {
      const one = await bridgeLoad(bridge, ctx.load);
      runIds = one.runIds;
      // the relay drains what the load produced before the next baseline round
      await waitQuiet(ctx.counter, 2500, 60_000);
      return one.load;
    },
    (msg) => ctx.log(`sqlite: ${msg}`),
  );
  const rows = loadRows('sqlite report_usage', r.bridge, r.baseline, {
    rps: TARGETS.sqliteRps,
    p99: TARGETS.sqliteP99,
    cpu: TARGETS.sqliteCpu,
  });
  return { rows, results: { baseline: r.baseline, sqlite: r.bridge, rounds: r.rounds }, runIds };
}

/** One bridge call over HTTP against the OTel SDK in the agent, per report. */
export async function agentCost(ctx: SectionContext, bridge: BridgeProcess, runIds: string[] | undefined): Promise<Section> {
  ctx.log('agent-side cost: bridge call vs in-process OTel SDK');
  if (!runIds) runIds = (await bridgeLoad(bridge, { durationS: 1, warmupS: 0, rounds: 1 })).runIds;
  const sdkCounter = new OtlpCounter();
  const sdkReceiverUrl = await sdkCounter.listen();
  try {
    const agent = await runJson<{ bridge: SideCost; sdk: SideCost }>('agent-overhead.ts', {
      bridgeUrl: bridge.url,
      receiverUrl: sdkReceiverUrl,
      runIds,
      bridgeCalls: 1000,
      sdkReports: 5000,
    });
    const rows: Row[] = [
      [
        'agent wall µs/report: bridge vs SDK',
        f(agent.bridge.wallUs),
        f(agent.sdk.wallUs),
        x(agent.bridge.wallUs / agent.sdk.wallUs),
        'report',
        null,
      ],
      [
        'agent CPU µs/report: bridge vs SDK',
        f(agent.bridge.cpuUs),
        f(agent.sdk.cpuUs),
        x(agent.bridge.cpuUs / agent.sdk.cpuUs),
        'report',
        null,
      ],
    ];
    return { rows, results: { ...agent, sdkSpansDelivered: sdkCounter.spans, sdkSpansExpected: 6 * (5000 + 200) } };
  } finally {
    await sdkCounter.close();
  }
}

/** core_end_run → root span, against the SDK's batch processor at the same interval. */
export async function latencySection(ctx: SectionContext, bridge: BridgeProcess): Promise<Section> {
  ctx.log('core_end_run → root span at the receiver, 30 samples');
  ctx.counter.reset();
  const latency = await endToRootLatency(bridge, ctx.counter, 30);
  ctx.log('baseline: root span end → receiver through the OTel SDK batch processor, same interval, 30 samples');
  const sdk = await sdkRootLatency(ctx.counter, ctx.receiverUrl, 30, ctx.intervalMs);
  const rows: Row[] = [
    [
      `end_run → root p50 ms (interval ${ctx.intervalMs})`,
      f(latency.p50Ms),
      f(sdk.p50Ms),
      x(latency.p50Ms / sdk.p50Ms),
      `≤ ${ctx.intervalMs + 50}`,
      latency.p50Ms <= ctx.intervalMs + 50,
    ],
    [`end_run → root p90 / max ms`, `${f(latency.p90Ms)} / ${f(latency.maxMs)}`, `${f(sdk.p90Ms)} / ${f(sdk.maxMs)}`, '', '', null],
  ];
  return { rows, results: { latency, sdkLatency: sdk } };
}

export async function postgresSection(ctx: SectionContext): Promise<Section & { skipped?: string }> {
  // each store's load alternates with a baseline of its own (this VM drifts)
  const postgres = await postgresLoad(ctx.env, ctx.load, (msg) => ctx.log(`postgres: ${msg}`));
  const rows = postgres.load
    ? [
        ...loadRows('postgres report_usage', postgres.load.bridge, postgres.load.baseline, { rps: TARGETS.postgresRps }),
        ...machineRows('postgres report_usage', postgres.load.bridge, postgres.load.baseline, TARGETS.postgresRps),
      ]
    : [['postgres report_usage req/s', 'not measured', '', '', `≥ ${TARGETS.postgresRps}×`, false] as Row];
  return {
    rows,
    results: postgres.load
      ? { pgBaseline: postgres.load.baseline, postgres: postgres.load.bridge, rounds: postgres.load.rounds }
      : postgres,
    skipped: postgres.skipped ? `postgres not measured: ${postgres.skipped}` : undefined,
  };
}

/**
 * The relay draining a 100k outbox, per protocol, against OpenTelemetry JS's exporter alone. The
 * target is the default protocol's (http/protobuf: stored spans joined as they are); http/json,
 * which decodes every span and writes it again, is shown beside it.
 */
export async function relaySection(ctx: SectionContext): Promise<Section> {
  ctx.log('relay: 100k spans from a filled outbox, http/protobuf and http/json');
  const figures = await exportFromOutbox(ctx.counter, ctx.receiverUrl, ctx.env, ['http/protobuf', 'http/json']);
  const rows: Row[] = [];
  for (const e of figures) {
    const targeted = e.protocol === 'http/protobuf';
    rows.push([
      `relay spans/s, 100k outbox, ${e.protocol}${targeted ? ' (default)' : ''}`,
      f(e.spansPerS),
      f(e.ceiling.spansPerS),
      x(e.spansPerS / e.ceiling.spansPerS),
      targeted ? `≥ ${f(TARGETS.relaySpansPerS)}/s` : '',
      targeted ? e.spansPerS >= TARGETS.relaySpansPerS : null,
    ]);
    rows.push([`relay CPU µs/span (all threads), ${e.protocol}`, e.cpuUsPerSpan.toFixed(1), '', '', '', null]);
  }
  return { rows, results: figures };
}

export async function memoryRows(ctx: SectionContext): Promise<Section> {
  ctx.log('memory: 0, 10k, 100k open runs');
  const mem = await memoryPoints(ctx.env);
  const [m0, m10, m100] = mem as [(typeof mem)[number], (typeof mem)[number], (typeof mem)[number]];
  const perRun = (m100.rssKiB - m0.rssKiB) / m100.openRuns;
  const rows: Row[] = [
    [
      'RSS MiB, 10k / 100k open runs (vs 0)',
      `${f(m10.rssKiB / 1024, 1)} / ${f(m100.rssKiB / 1024, 1)}`,
      f(m0.rssKiB / 1024, 1),
      '',
      '',
      null,
    ],
    ['RSS growth per open run (0 → 100k)', `${perRun.toFixed(3)} KiB`, '', '', '≤ 0.5 KiB', perRun <= 0.5],
  ];
  return { rows, results: mem };
}

export function redactionRows(ctx: SectionContext): Section {
  ctx.log('redaction: hostile inputs, 16 KiB to 1 MiB');
  const sweep = redactionSweep();
  const worst = sweep.reduce((a, b) => (b.growth > a.growth ? b : a));
  const plain = sweep.find((r) => r.input === 'plain prose')!;
  const kib = (n: number) => `${n / 1024} KiB`;
  const row: Row = [
    `redaction ns/char, ${kib(SWEEP_SIZES[SWEEP_SIZES.length - 1]!)} / ${kib(SWEEP_SIZES[0]!)}, worst hostile input (${worst.input})`,
    worst.nsPerChar
      .map((n) => (n === null ? 'stopped' : n.toFixed(1)))
      .filter((_, i, all) => i === 0 || i === all.length - 1)
      .reverse()
      .join(' / '),
    `${plain.nsPerChar[plain.nsPerChar.length - 1]!.toFixed(1)} (plain prose)`,
    `${worst.growth.toFixed(2)}×`,
    '≤ 8× growth',
    worst.growth <= 8,
  ];
  return { rows: [row], results: { sizes: SWEEP_SIZES, rows: sweep } };
}
