import { cpSync, rmSync } from 'node:fs';
import { BridgeProcess, tempDir } from '../test/support/bridge-process.js';
import { cpuMs } from './cpu.js';
import { StoreFiller } from './fill-store.js';
import type { OtlpCounter } from './otlp-counter.js';
import { callMany, percentile, runJson, sleep } from './proc.js';
import { endArgs, newRunIds, reportArgs, startArgs } from './workload.js';

export const OUTBOX_SPANS = 100_000;

export type Protocol = 'http/json' | 'http/protobuf';

export interface ExportFigures {
  protocol: Protocol;
  spans: number;
  fillMs: number;
  /** steady delivery rate: spans after the first batch / time from first to last batch */
  spansPerS: number;
  /** from the bridge answering /healthz to the receiver holding every span */
  wallMs: number;
  /** the bridge process's CPU time (every thread) per span delivered, µs */
  cpuUsPerSpan: number;
  ceiling: { spans: number; ms: number; spansPerS: number };
}

/**
 * Fills an outbox with 100k real spans (1,000 start_run spans + 16,500 reports × 6 spans: 5 trace
 * entries and the LLM span for the usage they leave uncovered, through the run service and store) once, then per protocol starts a bridge on a copy of that
 * data dir pointing at the counter and times delivery. Another copy feeds the exporter-only
 * baseline (OpenTelemetry JS's exporter on ReadableSpans built beforehand, same protocol).
 */
export async function exportFromOutbox(
  counter: OtlpCounter,
  receiverUrl: string,
  env: Record<string, string>,
  protocols: Protocol[],
): Promise<ExportFigures[]> {
  const filled = tempDir('oprelay-bench-export-');
  const t0 = performance.now();
  const filler = await StoreFiller.open(filled);
  const runs = await filler.startRuns(1000);
  // a report's spans: its trace entries plus the LLM span for the usage they leave uncovered
  // (docs/architecture.md#tokens-and-cost); measured on the first 1,000, then filled to 100k
  await filler.report(runs, 1000);
  const perReport = ((await filler.depth()) - 1000) / 1000;
  await filler.report(runs, Math.round((OUTBOX_SPANS - 1000) / perReport) - 1000);
  const depth = await filler.depth();
  await filler.close();
  const fillMs = performance.now() - t0;
  try {
    if (depth !== OUTBOX_SPANS) throw new Error(`outbox holds ${depth} spans, expected ${OUTBOX_SPANS}`);
    const out: ExportFigures[] = [];
    for (const protocol of protocols) out.push({ ...(await drain(counter, receiverUrl, env, filled, protocol)), fillMs });
    return out;
  } finally {
    rmSync(filled, { recursive: true, force: true });
  }
}

async function drain(
  counter: OtlpCounter,
  receiverUrl: string,
  env: Record<string, string>,
  filled: string,
  protocol: Protocol,
): Promise<Omit<ExportFigures, 'fillMs'>> {
  const dir = tempDir('oprelay-bench-export-');
  const copy = tempDir('oprelay-bench-ceiling-');
  let bridge: BridgeProcess | undefined;
  try {
    cpSync(filled, dir, { recursive: true });
    cpSync(filled, copy, { recursive: true });
    counter.reset();
    const ceiling = await runJson<ExportFigures['ceiling']>(
      'export-ceiling.ts',
      {
        dataDir: copy,
        receiverUrl,
        batchSize: Number(env.BRIDGE_EXPORT_BATCH_SIZE ?? 512),
        protocol,
      },
      180_000,
    );

    counter.reset();
    bridge = await BridgeProcess.start({ ...env, OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl, OTEL_EXPORTER_OTLP_PROTOCOL: protocol }, dir);
    const ready = performance.now();
    const cpuBefore = cpuMs(bridge.child.pid!);
    await counter.waitFor(OUTBOX_SPANS, 90_000);
    const cpuUsPerSpan = ((cpuMs(bridge.child.pid!) - cpuBefore) * 1000) / counter.spans;
    const spansPerS = ((counter.spans - counter.firstBatch) / (counter.lastAt - counter.firstAt)) * 1000;
    return { protocol, spans: counter.spans, spansPerS, wallMs: counter.lastAt - ready, cpuUsPerSpan, ceiling };
  } finally {
    await bridge?.dispose();
    rmSync(dir, { recursive: true, force: true });
    rmSync(copy, { recursive: true, force: true });
  }
}

/** Waits until the receiver got nothing for quietMs (the bridge's outbox has drained). */
export async function waitQuiet(counter: OtlpCounter, quietMs: number, maxMs: number): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const last = counter.lastAt || t0;
    if (performance.now() - last >= quietMs || performance.now() - t0 > maxMs) return performance.now() - t0;
    await sleep(100);
  }
}

export interface LatencyFigures {
  samples: number;
  p50Ms: number;
  p90Ms: number;
  maxMs: number;
}

/**
 * core_end_run → root span at the receiver. Ends are spaced 113 ms apart, so the samples fall at
 * different phases of the relay's interval instead of all just after (or before) one tick.
 */
export async function endToRootLatency(bridge: BridgeProcess, counter: OtlpCounter, samples: number): Promise<LatencyFigures> {
  const ids = newRunIds(samples);
  const tool = (name: string) => `${bridge.url}/v1/tools/${name}`;
  await callMany(tool('core_start_run'), samples, 4, (i) => startArgs(ids[i]));
  await callMany(tool('core_report_usage'), samples, 4, (i) => reportArgs(ids[i]));
  await waitQuiet(counter, 1500, 10_000);
  const sentAt = new Map<string, number>();
  await Promise.all(
    ids.map(async (id, i) => {
      await sleep(i * 113);
      sentAt.set(id.replaceAll('-', ''), performance.now());
      const r = await bridge.tool('core_end_run', endArgs(id));
      if (r.status !== 200) throw new Error(`core_end_run answered ${r.status}`);
    }),
  );
  const deadline = performance.now() + 10_000;
  while ([...sentAt.keys()].some((t) => !counter.roots.has(t)) && performance.now() < deadline) await sleep(50);
  const lat = [...sentAt].filter(([t]) => counter.roots.has(t)).map(([t, s]) => counter.roots.get(t)! - s);
  if (lat.length < samples) throw new Error(`only ${lat.length} of ${samples} root spans arrived`);
  return { samples: lat.length, p50Ms: percentile(lat, 0.5), p90Ms: percentile(lat, 0.9), maxMs: Math.max(...lat) };
}

/**
 * The same figure for an agent using the OTel SDK's BatchSpanProcessor with the same interval
 * (bench/sdk-latency.ts, in its own process): root span end → arrival at the receiver.
 */
export async function sdkRootLatency(
  counter: OtlpCounter,
  receiverUrl: string,
  samples: number,
  intervalMs: number,
): Promise<LatencyFigures> {
  counter.reset();
  const endedAt = await runJson<Record<string, number>>('sdk-latency.ts', { receiverUrl, samples, intervalMs, spacingMs: 113 }, 60_000);
  const lat = Object.entries(endedAt)
    .filter(([traceId]) => counter.roots.has(traceId))
    .map(([traceId, ended]) => performance.timeOrigin + counter.roots.get(traceId)! - ended);
  if (lat.length < samples) throw new Error(`only ${lat.length} of ${samples} SDK root spans arrived`);
  return { samples: lat.length, p50Ms: percentile(lat, 0.5), p90Ms: percentile(lat, 0.9), maxMs: Math.max(...lat) };
}
