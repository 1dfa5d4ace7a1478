/**
 * Agent-side cost of one usage report, measured in a process of its own (the agent's):
 *  - bridge: one `core_report_usage` HTTP call (5 trace entries), sequential, keep-alive fetch;
 *  - sdk: the bridge-less alternative, the OTel SDK in the agent (BasicTracerProvider +
 *    BatchSpanProcessor + the same OTLP/HTTP JSON exporter) creating the same spans: a root and
 *    5 children per report, with the bridge's attributes, exported to the same kind of receiver.
 * argv[2]: JSON { bridgeUrl, receiverUrl, runIds, bridgeCalls, sdkReports }. Prints one JSON line.
 */
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { reportArgs } from './workload.js';

interface Spec {
  bridgeUrl: string;
  receiverUrl: string;
  runIds: string[];
  bridgeCalls: number;
  sdkReports: number;
}

export interface SideCost {
  calls: number;
  /** mean wall time the agent spends per report (waiting included), µs */
  wallUs: number;
  p50Us: number;
  p99Us: number;
  /** agent process CPU (user+system) per report, µs */
  cpuUs: number;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as Spec;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

async function measure(n: number, one: (i: number) => Promise<void>, settle: () => Promise<void>): Promise<SideCost> {
  for (let i = 0; i < Math.min(200, n); i++) await one(i); // warm-up
  const lat: number[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await one(i);
    lat.push((performance.now() - s) * 1000);
  }
  await settle();
  const wall = (performance.now() - t0) * 1000;
  const c = process.cpuUsage(cpu0);
  return { calls: n, wallUs: wall / n, p50Us: pct(lat, 0.5), p99Us: pct(lat, 0.99), cpuUs: (c.user + c.system) / n };
}

async function bridgeSide(): Promise<SideCost> {
  const bodies = spec.runIds.map((id) => JSON.stringify(reportArgs(id)));
  return measure(
    spec.bridgeCalls,
    async (i) => {
      const r = await fetch(`${spec.bridgeUrl}/v1/tools/core_report_usage`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: bodies[i % bodies.length],
      });
      if (r.status !== 200) throw new Error(`bridge answered ${r.status}: ${await r.text()}`);
      await r.arrayBuffer();
    },
    async () => undefined,
  );
}

async function sdkSide(): Promise<SideCost> {
  // forceFlush exports every queued batch at once (up to 65,536 / 512 = 128): above the exporter's
  // default limit of 30 concurrent exports it fails with "Concurrent export limit reached"
  const exporter = new OTLPTraceExporter({ url: `${spec.receiverUrl}/v1/traces`, concurrencyLimit: 256 });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'bench', 'service.namespace': 'oprelay' }),
    spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 65_536, maxExportBatchSize: 512, scheduledDelayMillis: 1000 })],
  });
  const tracer = provider.getTracer('bench-agent');
  const t = Date.now() - 5_000;
  const result = await measure(
    spec.sdkReports,
    async (i) => {
      const root = tracer.startSpan('invoke_agent bench-agent', {
        kind: SpanKind.INTERNAL,
        attributes: {
          'gen_ai.operation.name': 'invoke_agent',
          'gen_ai.agent.name': 'bench-agent',
          'gen_ai.conversation.id': spec.runIds[i % spec.runIds.length],
          'oprelay.project_key': 'bench',
          'gen_ai.usage.input_tokens': 8400,
          'gen_ai.usage.output_tokens': 1200,
          'oprelay.usage.cost_usd': 0.028,
          'gen_ai.request.model': 'claude-opus-4',
        },
      });
      root.addEvent('gen_ai.usage.report', { 'gen_ai.usage.input_tokens': 8400, 'gen_ai.usage.output_tokens': 1200 });
      const ctx = trace.setSpan(context.active(), root);
      for (let k = 0; k < 5; k++) {
        const llm = k % 2 === 0;
        const child = tracer.startSpan(
          llm ? 'chat claude-opus-4' : 'execute_tool read_file',
          {
            kind: llm ? SpanKind.CLIENT : SpanKind.INTERNAL,
            startTime: t + k * 1000,
            attributes: llm
              ? {
                  'gen_ai.operation.name': 'chat',
                  'gen_ai.request.model': 'claude-opus-4',
                  'gen_ai.usage.input_tokens': 2800,
                  'gen_ai.usage.output_tokens': 400,
                  'oprelay.trace.cost_usd': 0.0093,
                }
              : { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'read_file' },
          },
          ctx,
        );
        child.setStatus({ code: SpanStatusCode.OK });
        child.end(t + k * 1000 + 800);
      }
      root.end();
      // an agent does other work between reports; yielding lets the batch processor export
      await new Promise<void>((resolve) => setImmediate(resolve));
    },
    () => provider.forceFlush(),
  );
  await provider.shutdown();
  return result;
}

const bridge = await bridgeSide();
const sdk = await sdkSide();
process.stdout.write(`${JSON.stringify({ bridge, sdk })}\n`);
