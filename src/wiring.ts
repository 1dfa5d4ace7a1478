import { randomUUID } from 'node:crypto';
import type { RequestListener } from 'node:http';
import type { KeyRing } from './auth/api-keys.js';
import type { Config } from './config.js';
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
  const c = config;
  const { log, store, keys } = inputs;
  // OTLP encoding runs in a worker thread (src/export/export-worker.ts)
  const exporter =
    inputs.exporter ??
    new WorkerRowExporter(
      {
        url: c.otlp.tracesUrl,
        protocol: c.otlp.protocol,
        timeoutMs: c.otlp.tracesTimeoutMs,
        headers: c.otlp.tracesHeaders,
        resourceAttributes: c.resourceAttributes,
        version: VERSION,
        logLevel: c.logLevel,
      },
      log,
    );
  const instanceId = c.instanceId ?? randomUUID();
  const relayRef: { current?: OutboxRelay } = {};
  const budgets = new Budgets({ store, budgets: c.budgets, enforce: c.budgetEnforce });
  const metrics = new RunMetrics({
    maxSeries: c.metricsMaxSeries,
    prometheus: c.metrics.prometheus,
    otlp: c.metrics.otlp
      ? {
          url: `${c.otlp.endpoint.replace(/\/+$/, '')}/v1/metrics`,
          intervalMs: c.metrics.intervalMs,
          timeoutMs: c.otlp.metricsTimeoutMs,
          headers: c.otlp.metricsHeaders,
        }
      : undefined,
    resourceAttributes: { ...c.resourceAttributes },
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
    intervalMs: c.exportIntervalMs,
    batchSize: c.exportBatchSize,
    leaseMs: c.outboxLeaseMs,
    maxAgeMs: c.outboxMaxAgeMs,
    maxBackoffMs: c.retryMaxBackoffMs,
    onExported: (result, n) => metrics.exported(result, n),
  });
  relayRef.current = relay;
  const service = new RunService({
    store,
    metrics: budgets.configured ? allSinks(metrics, budgets) : metrics,
    endUsage: c.endUsage,
    captureContent: c.captureContent,
    traceEntries: c.traceEntries,
    traceUrl: c.traceUrl,
    pricing: c.costInference ? new GenAiPricesCalculator() : undefined,
    beforeStart: c.budgetEnforce && budgets.configured ? budgets.check : undefined,
  });
  const gateway = new ToolGateway({ service, outboxDepth: () => relay.depth, maxOutboxRows: c.outboxMaxRows });
  const reaper = new Reaper({ store, service, log, idleTimeoutMs: c.runIdleTimeoutMs, maxDurationMs: c.runMaxDurationMs });

  const extra = [];
  for (const ext of inputs.extensions ?? []) extra.push(...(await ext({ keys, store, service, gateway, log })));
  const listener = createListener({
    service,
    gateway,
    store,
    metrics,
    keys,
    limiter: new RateLimiter(c.rateLimit),
    log,
    isDraining: () => gateway.draining,
    extra,
  });
  return { config: c, log, store, service, gateway, relay, reaper, metrics, keys, exporter, listener };
}
