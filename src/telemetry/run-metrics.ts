import type { Attributes, Counter, Histogram, Meter } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtobufMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { metrics as sdkMetrics, resources } from '@opentelemetry/sdk-node';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MetricEffect, MetricSink } from '../runs/effects.js';
import type { ActiveRuns } from '../store/run-store.js';
import { ATTR, BRIDGE_SERVICE_NAME, EXPORT_RESULTS, METRIC } from './attributes.js';
import { GEN_AI_SCHEMA_URL } from './genai-conventions.js';
import { GenAiMetrics } from './genai-metrics.js';
import { LabelCap } from './label-cap.js';
import { PreAggregatedMetrics, seriesKey, type CounterTable } from './pre-aggregated-metrics.js';

export interface GaugeSource {
  activeRuns(): Promise<Map<string, ActiveRuns>>;
  outbox(): { depth: number; oldestAgeMs: number | null };
  budgets?(): Promise<Map<string, number>>;
}

export interface RunMetricsOptions {
  maxSeries: number;
  prometheus: boolean;
  otlp?: {
    /** the request encoding, as for traces (OTEL_EXPORTER_OTLP_METRICS_PROTOCOL) */
    protocol: 'http/protobuf' | 'http/json';
    url: string;
    intervalMs: number;
    timeoutMs: number;
    headers: Record<string, string>;
    /** after each OTLP push: undefined when it was delivered, else its error */
    onExport?: (error: unknown) => void;
  };
  resourceAttributes: Record<string, string>;
  instanceId: string;
  version: string;
  gauges: GaugeSource;
}

const DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400];

/**
 * Counter series with a known label set (these run endings per project, and the relay's
 * EXPORT_RESULTS) are created at 0 before their first event: Prometheus'
 * increase() needs a sample before the first increment, or the first dead letter after a
 * deploy (or a new project's first failed run) reads as 0 and alerts nothing.
 */
const RUN_ENDINGS = [
  ['completed', 'agent'],
  ['failed', 'agent'],
  ['interrupted', 'agent'],
  ['interrupted', 'idle_timeout'],
  ['interrupted', 'max_duration'],
] as const;

/** The exporter, telling `onExport` how each push ended. */
function reporting(exporter: sdkMetrics.PushMetricExporter, onExport?: (error: unknown) => void): sdkMetrics.PushMetricExporter {
  if (!onExport) return exporter;
  const exportOnce = exporter.export.bind(exporter);
  exporter.export = (metrics, done) =>
    exportOnce(metrics, (result) => {
      onExport(result.code === ExportResultCode.SUCCESS ? undefined : (result.error ?? new Error('metrics export failed')));
      done(result);
    });
  return exporter;
}

/** OTLP/HTTP in the configured encoding: protobuf, as for traces, unless http/json is asked for. */
function otlpMetricExporter(o: NonNullable<RunMetricsOptions['otlp']>): sdkMetrics.PushMetricExporter {
  const settings = { url: o.url, headers: o.headers, timeoutMillis: o.timeoutMs };
  return o.protocol === 'http/json' ? new JsonMetricExporter(settings) : new ProtobufMetricExporter(settings);
}

/** The bridge's metric instruments (docs/architecture.md#metrics), fed by committed tool calls and the relay. */
export class RunMetrics implements MetricSink {
  private provider: sdkMetrics.MeterProvider;
  private prometheus?: PrometheusExporter;
  private cap: LabelCap;
  private c!: {
    started: Counter;
    ended: Counter;
    duration: Histogram;
    tokens: CounterTable;
    cost: CounterTable;
    llmCalls: CounterTable;
    failures: Counter;
    exported: Counter;
  };
  private projectsSeen = new Set<string>();
  private genAi!: GenAiMetrics;
  /** the per-call series (usage and GenAI), aggregated here and collected by every reader */
  private readonly tables: PreAggregatedMetrics;

  constructor(private readonly options: RunMetricsOptions) {
    this.cap = new LabelCap(options.maxSeries);
    this.tables = new PreAggregatedMetrics({ name: BRIDGE_SERVICE_NAME, version: options.version, schemaUrl: GEN_AI_SCHEMA_URL });
    const metricProducers = [this.tables];
    const readers: sdkMetrics.IMetricReader[] = [];
    if (options.prometheus) {
      this.prometheus = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true, metricProducers });
      readers.push(this.prometheus);
    }
    if (options.otlp) {
      readers.push(
        new sdkMetrics.PeriodicExportingMetricReader({
          exporter: reporting(otlpMetricExporter(options.otlp), options.otlp.onExport),
          exportIntervalMillis: options.otlp.intervalMs,
          metricProducers,
        }),
      );
    }
    this.provider = new sdkMetrics.MeterProvider({
      resource: resources.resourceFromAttributes({
        ...options.resourceAttributes,
        [ATTR.serviceName]: BRIDGE_SERVICE_NAME,
        [ATTR.serviceInstanceId]: options.instanceId,
      }),
      readers,
    });
    const meter = this.provider.getMeter(BRIDGE_SERVICE_NAME, options.version, { schemaUrl: GEN_AI_SCHEMA_URL });
    this.createInstruments(meter);
    this.genAi = new GenAiMetrics(this.tables, this.cap);
    for (const result of EXPORT_RESULTS) this.c.exported.add(0, { [ATTR.exportResult]: result });
  }

  private createInstruments(meter: Meter): void {
    this.c = {
      started: meter.createCounter(METRIC.runsStarted, { description: 'Runs started', unit: '{run}' }),
      ended: meter.createCounter(METRIC.runsEnded, { description: 'Runs ended, by status and end reason', unit: '{run}' }),
      duration: meter.createHistogram(METRIC.runDuration, {
        description: 'Run duration from start to end',
        unit: 's',
        advice: { explicitBucketBoundaries: DURATION_BUCKETS },
      }),
      tokens: this.tables.counter({ name: METRIC.usageTokens, description: 'Tokens used, by type', unit: '{token}' }),
      cost: this.tables.counter({ name: METRIC.usageCost, description: 'Cost in US dollars', unit: 'USD' }),
      llmCalls: this.tables.counter({ name: METRIC.usageLlmCalls, description: 'LLM calls', unit: '{call}' }),
      failures: meter.createCounter(METRIC.failures, { description: 'Failures recorded, by error type', unit: '{failure}' }),
      exported: meter.createCounter(METRIC.exportSpans, { description: 'Spans handled by the outbox relay, by result', unit: '{span}' }),
    };
    const active = meter.createObservableGauge(METRIC.runsActive, { description: 'Runs in flight (from the store)', unit: '{run}' });
    const depth = meter.createObservableGauge(METRIC.outboxDepth, { description: 'Spans waiting in the outbox', unit: '{span}' });
    const oldest = meter.createObservableGauge(METRIC.outboxOldestAge, { description: 'Age of the oldest outbox span', unit: 's' });
    const oldestRun = meter.createObservableGauge(METRIC.runsOldestActiveAge, {
      description: 'Age of the oldest running run (from the store), 0 when none runs',
      unit: 's',
    });
    const budget = meter.createObservableGauge(METRIC.budgetRemaining, { description: 'Daily budget left (UTC day)', unit: 'USD' });
    meter.addBatchObservableCallback(
      async (obs) => {
        const runs = await this.options.gauges.activeRuns();
        for (const p of runs.keys()) this.project(p);
        const now = Date.now();
        const perProject = new Map<string, { count: number; ageS: number }>();
        for (const p of this.projectsSeen) {
          const label = this.cap.value(ATTR.projectKey, p);
          const seen = perProject.get(label) ?? { count: 0, ageS: 0 };
          const r = runs.get(p);
          const ageS = r ? Math.max(0, now - r.oldestStartedAt) / 1000 : 0;
          perProject.set(label, { count: seen.count + (r?.count ?? 0), ageS: Math.max(seen.ageS, ageS) });
        }
        for (const [p, v] of perProject) {
          obs.observe(active, v.count, { [ATTR.projectKey]: p });
          obs.observe(oldestRun, v.ageS, { [ATTR.projectKey]: p });
        }
        const ob = this.options.gauges.outbox();
        obs.observe(depth, ob.depth);
        obs.observe(oldest, (ob.oldestAgeMs ?? 0) / 1000);
        if (this.options.gauges.budgets) {
          for (const [p, left] of await this.options.gauges.budgets()) obs.observe(budget, left, { [ATTR.projectKey]: p });
        }
      },
      [active, oldestRun, depth, oldest, budget],
    );
  }

  private project(p: string): string {
    const label = this.cap.value(ATTR.projectKey, p);
    if (!this.projectsSeen.has(p)) {
      this.projectsSeen.add(p);
      for (const [status, reason] of RUN_ENDINGS)
        this.c.ended.add(0, { [ATTR.projectKey]: label, [ATTR.runEndedStatus]: status, [ATTR.runEndedReason]: reason });
    }
    return label;
  }

  apply(effects: MetricEffect[]): void {
    for (const e of effects) {
      const project = this.project(e.project);
      const base = (): Attributes => ({ [ATTR.projectKey]: project });
      switch (e.kind) {
        case 'run_started':
          this.c.started.add(1, base());
          break;
        case 'run_ended':
          this.c.ended.add(1, { ...base(), [ATTR.runEndedStatus]: e.status, [ATTR.runEndedReason]: e.reason });
          this.c.duration.record(e.durationS, { ...base(), [ATTR.runEndedStatus]: e.status });
          break;
        case 'usage': {
          const model = this.cap.value(ATTR.genAiRequestModel, e.model || 'unknown');
          const labels = (tokenType?: string): Attributes => ({
            ...base(),
            [ATTR.genAiRequestModel]: model,
            ...(tokenType ? { [ATTR.genAiTokenType]: tokenType } : {}),
          });
          const now = Date.now();
          const d = e.delta;
          if (d.input_tokens) this.c.tokens.add(d.input_tokens, seriesKey(project, model, 'input'), () => labels('input'), now);
          if (d.output_tokens) this.c.tokens.add(d.output_tokens, seriesKey(project, model, 'output'), () => labels('output'), now);
          if (d.cost_usd) this.c.cost.add(d.cost_usd, seriesKey(project, model), labels, now);
          if (d.llm_calls) this.c.llmCalls.add(d.llm_calls, seriesKey(project, model), labels, now);
          break;
        }
        case 'failure':
          this.c.failures.add(1, { ...base(), [ATTR.errorType]: this.cap.value(ATTR.errorType, e.errorType) });
          break;
        case 'genai_operation':
          this.genAi.record(e, project);
          break;
      }
    }
  }

  exported(result: string, count: number): void {
    if (count > 0) this.c.exported.add(count, { [ATTR.exportResult]: result });
  }

  /** Serves Prometheus text (GET /metrics). */
  handlePrometheus(req: IncomingMessage, res: ServerResponse): void {
    if (!this.prometheus) {
      res.statusCode = 404;
      res.end('prometheus exporter disabled (OTEL_METRICS_EXPORTER)\n');
      return;
    }
    this.prometheus.getMetricsRequestHandler(req, res);
  }

  async shutdown(): Promise<void> {
    await this.provider.shutdown().catch(() => undefined);
  }
}
