/**
 * The baseline of the end_run → root figure, measured: how long a root span takes to reach the
 * receiver from an agent that uses the OTel SDK itself (BasicTracerProvider + BatchSpanProcessor
 * with the bridge's export interval as its scheduled delay + the same OTLP/HTTP JSON exporter).
 * Root spans end spaced like the bridge's samples, so they fall at different phases of the
 * processor's timer. Runs in its own process (the agent's).
 * argv[2]: JSON { receiverUrl, samples, intervalMs, spacingMs }. Prints one JSON line: trace id →
 * the epoch ms (with fractions) at which its root span ended.
 */
import { SpanKind } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

interface Spec {
  receiverUrl: string;
  samples: number;
  intervalMs: number;
  spacingMs: number;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as Spec;
const exporter = new OTLPTraceExporter({ url: `${spec.receiverUrl}/v1/traces` });
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'bench', 'service.namespace': 'oprelay' }),
  spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: spec.intervalMs, maxExportBatchSize: 512 })],
});
const tracer = provider.getTracer('bench-agent');

const endedAt: Record<string, number> = {};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
await Promise.all(
  Array.from({ length: spec.samples }, async (_, i) => {
    await sleep(i * spec.spacingMs);
    const root = tracer.startSpan('invoke_agent bench-agent', {
      kind: SpanKind.INTERNAL,
      attributes: { 'gen_ai.operation.name': 'invoke_agent' },
    });
    root.end();
    endedAt[root.spanContext().traceId] = performance.timeOrigin + performance.now();
  }),
);
// let the processor's own timer deliver the last spans (a flush would skip the wait being measured)
await sleep(spec.intervalMs * 3);
await provider.shutdown();
process.stdout.write(`${JSON.stringify(endedAt)}\n`);
