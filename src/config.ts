import { z } from 'zod';
import {
  apiKeys,
  bool,
  budgets,
  duration,
  durationOrOff,
  int,
  otlpEndpoint,
  otlpHeaders,
  otlpProtocol,
  otlpTimeout,
} from './config-values.js';

const EnvSchema = z.object({
  BRIDGE_HOST: z.string().min(1).default('127.0.0.1'),
  BRIDGE_PORT: int(8787, 0, 65535),
  BRIDGE_STORE: z
    .string()
    .default('sqlite')
    .refine((s) => s === 'sqlite' || s === 'memory' || /^postgres(ql)?:\/\//.test(s), {
      message: 'expected sqlite, memory or a postgres://… URL',
    }),
  BRIDGE_DATA_DIR: z.string().min(1).default('./data'),
  BRIDGE_TRACE_URL: z
    .string()
    .optional()
    .refine((s) => s === undefined || s === '' || s.includes('{trace_id}'), { message: 'expected a URL containing {trace_id}' }),
  BRIDGE_EXPORT_INTERVAL_MS: int(1000, 10, 3_600_000),
  BRIDGE_EXPORT_BATCH_SIZE: int(512, 1, 10_000),
  BRIDGE_OUTBOX_MAX_AGE: duration('7d'),
  BRIDGE_OUTBOX_MAX_ROWS: int(1_000_000, 1, 1_000_000_000),
  BRIDGE_RETRY_MAX_BACKOFF: duration('60s'),
  BRIDGE_OUTBOX_LEASE: duration('30s'),
  BRIDGE_RUN_IDLE_TIMEOUT: duration('24h'),
  BRIDGE_RUN_MAX_DURATION: duration('7d'),
  BRIDGE_RUN_RETENTION: durationOrOff('30d'),
  BRIDGE_METRICS_MAX_SERIES: int(1000, 1, 1_000_000),
  BRIDGE_END_USAGE: z.enum(['final', 'increment']).default('final'),
  BRIDGE_API_KEYS: apiKeys,
  BRIDGE_AUTH: z.enum(['on', 'off']).default('on'),
  BRIDGE_CAPTURE_CONTENT: bool(true),
  BRIDGE_RATE_LIMIT: int(0, 0, 1_000_000),
  BRIDGE_AUTH_FAILURE_LIMIT: int(20, 0, 1_000_000),
  BRIDGE_BUDGETS: budgets,
  BRIDGE_BUDGET_ENFORCE: bool(false),
  BRIDGE_COST_INFERENCE: z.enum(['on', 'off']).default('on'),
  BRIDGE_TRACE_ENTRIES: z.enum(['all', 'errors', 'none']).default('all'),
  BRIDGE_SHUTDOWN_TIMEOUT: duration('10s'),
  BRIDGE_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  BRIDGE_INSTANCE_ID: z.string().optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint.default('http://localhost:4318'),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otlpEndpoint.optional(),
  OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: otlpEndpoint.optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: otlpProtocol,
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: otlpProtocol,
  OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: otlpProtocol,
  OTEL_EXPORTER_OTLP_TIMEOUT: otlpTimeout,
  OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: otlpTimeout,
  OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: otlpTimeout,
  OTEL_EXPORTER_OTLP_HEADERS: otlpHeaders,
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: otlpHeaders,
  OTEL_EXPORTER_OTLP_METRICS_HEADERS: otlpHeaders,
  OTEL_METRICS_EXPORTER: z
    .string()
    .default('otlp,prometheus')
    .refine((s) => s.split(',').every((x) => ['otlp', 'prometheus', 'none'].includes(x.trim())), {
      message: 'expected a comma-separated list of otlp, prometheus, none',
    }),
  OTEL_METRIC_EXPORT_INTERVAL: int(60_000, 100, 86_400_000),
  OTEL_RESOURCE_ATTRIBUTES: z.string().default(''),
});

export type Config = ReturnType<typeof toConfig>;

const DEFAULT_OTLP_TIMEOUT_MS = 10_000;
/**
 * An export attempt must end before the relay's claim on its rows does (90 % of the lease):
 * an attempt still in flight past that point can be accepted by the collector after the relay
 * has put the rows back for a retry, and the collector then gets them twice.
 */
const EXPORT_SHARE_OF_LEASE = 0.8;

function tracesTimeout(e: z.output<typeof EnvSchema>): number {
  const explicit = e.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ?? e.OTEL_EXPORTER_OTLP_TIMEOUT;
  const bound = Math.floor(e.BRIDGE_OUTBOX_LEASE * EXPORT_SHARE_OF_LEASE);
  if (explicit === undefined) return Math.min(DEFAULT_OTLP_TIMEOUT_MS, bound);
  if (explicit > bound) {
    const name = e.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT' : 'OTEL_EXPORTER_OTLP_TIMEOUT';
    throw new ConfigError(
      `invalid configuration:\n  ${name}: ${explicit} ms is longer than ${bound} ms, 80% of BRIDGE_OUTBOX_LEASE (${e.BRIDGE_OUTBOX_LEASE} ms): an export must end before its outbox lease, or a slow collector gets the spans twice`,
    );
  }
  return explicit;
}

function toConfig(e: z.output<typeof EnvSchema>) {
  // http/protobuf by default (the OpenTelemetry specification's default): stored spans are sent as they are
  const protocol = e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf';
  const metricsExporters = new Set(e.OTEL_METRICS_EXPORTER.split(',').map((s) => s.trim()));
  return {
    host: e.BRIDGE_HOST,
    port: e.BRIDGE_PORT,
    store: e.BRIDGE_STORE,
    dataDir: e.BRIDGE_DATA_DIR,
    traceUrl: e.BRIDGE_TRACE_URL || undefined,
    exportIntervalMs: e.BRIDGE_EXPORT_INTERVAL_MS,
    exportBatchSize: e.BRIDGE_EXPORT_BATCH_SIZE,
    outboxMaxAgeMs: e.BRIDGE_OUTBOX_MAX_AGE,
    outboxMaxRows: e.BRIDGE_OUTBOX_MAX_ROWS,
    retryMaxBackoffMs: e.BRIDGE_RETRY_MAX_BACKOFF,
    outboxLeaseMs: e.BRIDGE_OUTBOX_LEASE,
    runIdleTimeoutMs: e.BRIDGE_RUN_IDLE_TIMEOUT,
    runMaxDurationMs: e.BRIDGE_RUN_MAX_DURATION,
    /** null: ended runs are kept forever */
    runRetentionMs: e.BRIDGE_RUN_RETENTION,
    metricsMaxSeries: e.BRIDGE_METRICS_MAX_SERIES,
    endUsage: e.BRIDGE_END_USAGE,
    apiKeys: e.BRIDGE_API_KEYS,
    authOff: e.BRIDGE_AUTH === 'off',
    captureContent: e.BRIDGE_CAPTURE_CONTENT,
    rateLimit: e.BRIDGE_RATE_LIMIT,
    authFailureLimit: e.BRIDGE_AUTH_FAILURE_LIMIT,
    budgets: e.BRIDGE_BUDGETS,
    budgetEnforce: e.BRIDGE_BUDGET_ENFORCE,
    costInference: e.BRIDGE_COST_INFERENCE === 'on',
    traceEntries: e.BRIDGE_TRACE_ENTRIES,
    shutdownTimeoutMs: e.BRIDGE_SHUTDOWN_TIMEOUT,
    logLevel: e.BRIDGE_LOG_LEVEL,
    instanceId: e.BRIDGE_INSTANCE_ID,
    otlp: {
      protocol,
      tracesUrl: e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? `${e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`,
      endpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
      // signal-specific settings win; headers merge by name
      tracesTimeoutMs: tracesTimeout(e),
      tracesHeaders: { ...e.OTEL_EXPORTER_OTLP_HEADERS, ...e.OTEL_EXPORTER_OTLP_TRACES_HEADERS },
      metricsProtocol: e.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf',
      metricsUrl: e.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT ?? `${e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/metrics`,
      metricsTimeoutMs: e.OTEL_EXPORTER_OTLP_METRICS_TIMEOUT ?? e.OTEL_EXPORTER_OTLP_TIMEOUT ?? DEFAULT_OTLP_TIMEOUT_MS,
      metricsHeaders: { ...e.OTEL_EXPORTER_OTLP_HEADERS, ...e.OTEL_EXPORTER_OTLP_METRICS_HEADERS },
    },
    metrics: {
      otlp: metricsExporters.has('otlp'),
      prometheus: metricsExporters.has('prometheus'),
      intervalMs: e.OTEL_METRIC_EXPORT_INTERVAL,
    },
    resourceAttributes: parseResourceAttributes(e.OTEL_RESOURCE_ATTRIBUTES),
  };
}

function parseResourceAttributes(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq > 0) out[decodeURIComponent(pair.slice(0, eq).trim())] = decodeURIComponent(pair.slice(eq + 1).trim());
  }
  return out;
}

export class ConfigError extends Error {}

/** Validates every setting once; throws a ConfigError naming each bad variable. Pure. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return toConfig(parsed.data);
}
