import { randomUUID } from 'node:crypto';
import type { RequestListener } from 'node:http';
import type { KeyRing } from './auth/api-keys.js';
import type { Config } from './config.js';
import { OutageLog } from './export/outage-log.js';
import { OutboxRelay } from './export/outbox-relay.js';
import type { RowExporter } from './export/row-exporter.js';
import { WorkerRowExporter } from './export/worker-exporter.js';
import { createListener } from './http/app.js';
import type { Extension } from './http/extension.js';
import { RateLimiter } from './http/rate-limit.js';
import type { Logger } from './log.js';
import { Budgets } from './runs/budgets.js';
import { allSinks } from './runs/effects.js';
import { Reaper } from './runs/reaper.js';
import { RunRetention } from './runs/retention.js';
import { GenAiPricesCalculator } from './runs/pricing.js';
import { RunService } from './runs/run-service.js';
import type { RunStore } from './store/run-store.js';
import { RunMetrics } from './telemetry/run-metrics.js';
import { ToolGateway } from './tools/gateway.js';
import { VERSION } from './version.js';

export interface BridgeParts {
  config: Config;
  log: Logger;
  store: RunStore;
  service: RunService;
  gateway: ToolGateway;
  relay: OutboxRelay;
  reaper: Reaper;
  /** absent when BRIDGE_RUN_RETENTION=off */
  retention: RunRetention | undefined;
  metrics: RunMetrics;
  keys: KeyRing;
  exporter: RowExporter;
  /** the HTTP app: tool calls, the API, and the extensions' routes */
  listener: RequestListener;
}

export interface WiringInputs {
  log: Logger;
  /** initialised */
  store: RunStore;
  /** loaded */
  keys: KeyRing;
  /** default: the OTLP exporter on its worker thread, as configured */
  exporter?: RowExporter;
  extensions?: Extension[];
}

/**
 * Builds the bridge's parts from its config: telemetry, relay, service, reaper and the HTTP app.
 * Nothing listens and no timer runs yet (Bridge.start does that), so a test can build them.
 */
export async function buildParts(config: Config, inputs: WiringInputs): Promise<BridgeParts> {
  const { log, store, keys } = inputs;
  // OTLP encoding runs in a worker thread (src/export/export-worker.ts)
  const exporter =
    inputs.exporter ??
    new WorkerRowExporter(
      {
        url: config.otlp.tracesUrl,
        protocol: config.otlp.protocol,
        timeoutMs: config.otlp.tracesTimeoutMs,
        headers: config.otlp.tracesHeaders,
        resourceAttributes: config.resourceAttributes,
        version: VERSION,
        logLevel: config.logLevel,
      },
      log,
    );
  const instanceId = config.instanceId ?? randomUUID();
  const relayRef: { current?: OutboxRelay } = {};
  const budgets = new Budgets({ store, budgets: config.budgets, enforce: config.budgetEnforce });
  const metricsOutage = new OutageLog({ log, signal: 'metrics' });
  const metrics = new RunMetrics({
    maxSeries: config.metricsMaxSeries,
    prometheus: config.metrics.prometheus,
    otlp: config.metrics.otlp
      ? {
          protocol: config.otlp.metricsProtocol,
          url: config.otlp.metricsUrl,
          intervalMs: config.metrics.intervalMs,
          timeoutMs: config.otlp.metricsTimeoutMs,
          headers: config.otlp.metricsHeaders,
          onExport: (error: unknown) => (error === undefined ? metricsOutage.delivered() : metricsOutage.failed(error)),
        }
      : undefined,
    resourceAttributes: { ...config.resourceAttributes },
    instanceId,
    version: VERSION,
    gauges: {
      activeRuns: () => store.activeRuns(),
      outbox: () => ({ depth: relayRef.current?.depth ?? 0, oldestAgeMs: relayRef.current?.oldestAgeMs ?? null }),
      ...(budgets.configured ? { budgets: () => budgets.remaining() } : {}),
    },
  });
  const relay = new OutboxRelay({
    store,
    exporter,
    log,
    intervalMs: config.exportIntervalMs,
    batchSize: config.exportBatchSize,
    leaseMs: config.outboxLeaseMs,
    maxAgeMs: config.outboxMaxAgeMs,
    maxBackoffMs: config.retryMaxBackoffMs,
    onExported: (result, n) => metrics.exported(result, n),
  });
  relayRef.current = relay;
  // spans waiting from before a restart count in the gauges and the backpressure limit at once
  await relay.refreshStats();
  const service = new RunService({
    store,
    metrics: budgets.configured ? allSinks(metrics, budgets) : metrics,
    endUsage: config.endUsage,
    captureContent: config.captureContent,
    traceEntries: config.traceEntries,
    traceUrl: config.traceUrl,
    pricing: config.costInference ? new GenAiPricesCalculator() : undefined,
    beforeStart: config.budgetEnforce && budgets.configured ? budgets.check : undefined,
    onSpansCommitted: (count) => relay.noteCommitted(count),
  });
  const gateway = new ToolGateway({ service, outboxDepth: () => relay.depth, maxOutboxRows: config.outboxMaxRows });
  const reaper = new Reaper({ store, service, log, idleTimeoutMs: config.runIdleTimeoutMs, maxDurationMs: config.runMaxDurationMs });
  const retention = config.runRetentionMs === null ? undefined : new RunRetention({ store, log, retentionMs: config.runRetentionMs });

  const extra = [];
  for (const ext of inputs.extensions ?? []) extra.push(...(await ext({ keys, store, service, gateway, log })));
  const listener = createListener({
    service,
    gateway,
    store,
    metrics,
    keys,
    limiter: new RateLimiter(config.rateLimit),
    log,
    isDraining: () => gateway.draining,
    extra,
  });
  return { config, log, store, service, gateway, relay, reaper, retention, metrics, keys, exporter, listener };
}
