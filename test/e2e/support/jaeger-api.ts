/** Jaeger's query API (the one its UI uses): `/api/services` and `/api/traces/{trace_id}`. */

export interface JaegerTag {
  key: string;
  type: string;
  value: string | number | boolean;
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: string; traceID: string; spanID: string }[];
  startTime: number;
  duration: number;
  tags: JaegerTag[];
  logs: { timestamp: number; fields: JaegerTag[] }[];
  processID: string;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags: JaegerTag[] }>;
}

export class JaegerApi {
  constructor(readonly url: string) {}

  async services(): Promise<string[]> {
    const response = await fetch(`${this.url}/api/services`);
    const body = (await response.json()) as { data: string[] | null };
    return body.data ?? [];
  }

  /** The trace, or undefined while Jaeger does not have it. */
  async trace(traceId: string): Promise<JaegerTrace | undefined> {
    const response = await fetch(`${this.url}/api/traces/${traceId}`);
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`GET /api/traces/${traceId}: HTTP ${response.status}`);
    const body = (await response.json()) as { data: JaegerTrace[] | null };
    return body.data?.[0];
  }

  /** Traces of a service, as the Grafana Jaeger panel and Jaeger's search page ask for them. */
  async search(service: string, limit = 100): Promise<JaegerTrace[]> {
    const response = await fetch(`${this.url}/api/traces?service=${encodeURIComponent(service)}&limit=${limit}&lookback=1h`);
    if (!response.ok) throw new Error(`GET /api/traces?service=${service}: HTTP ${response.status}`);
    const body = (await response.json()) as { data: JaegerTrace[] | null };
    return body.data ?? [];
  }

  /** Number of spans Jaeger holds for the trace (0 when it has none). */
  async spanCount(traceId: string): Promise<number> {
    return (await this.trace(traceId))?.spans.length ?? 0;
  }
}

export function tag(span: { tags: JaegerTag[] }, key: string): JaegerTag['value'] | undefined {
  return span.tags.find((t) => t.key === key)?.value;
}

export function field(log: { fields: JaegerTag[] }, key: string): JaegerTag['value'] | undefined {
  return log.fields.find((f) => f.key === key)?.value;
}

export function spanNamed(trace: JaegerTrace, operationName: string): JaegerSpan {
  const span = trace.spans.find((s) => s.operationName === operationName);
  if (!span) throw new Error(`no span "${operationName}" in trace ${trace.traceID}: ${trace.spans.map((s) => s.operationName).join(', ')}`);
  return span;
}

export function parentOf(span: JaegerSpan): string | undefined {
  return span.references.find((r) => r.refType === 'CHILD_OF')?.spanID;
}

/** A run_id as Jaeger shows its trace: the UUID's 32 hex digits. */
export function traceIdOf(runId: string): string {
  return runId.replaceAll('-', '').toLowerCase();
}

/** One series of Jaeger's metrics API (its Monitor tab's data): an operation's points over time. */
export interface MonitorSeries {
  service: string;
  operation: string;
  points: { time: string; value: number }[];
}

/** Jaeger's MetricFamily as its metrics API writes it (protobuf JSON; a NaN value is the string "NaN"). */
interface MetricFamilyJson {
  metrics?: {
    labels: { name: string; value: string }[];
    metricPoints?: { timestamp: string; gaugeValue: { doubleValue: number | string } }[];
  }[];
}

/** Query parameters of `/api/metrics/{latencies,calls,errors}`; durations and times in milliseconds. */
export interface MonitorQuery {
  service: string;
  spanKinds: ('internal' | 'client' | 'server' | 'producer' | 'consumer' | 'unspecified')[];
  endTs: number;
  lookback: number;
  step: number;
  ratePer: number;
  /** latencies only */
  quantile?: number;
}

/**
 * Jaeger's metrics API grouped by operation, as its Monitor tab calls it; answers the raw JSON too
 * (for a report) and the series by operation.
 */
export async function monitorMetrics(
  url: string,
  kind: 'latencies' | 'calls' | 'errors',
  query: MonitorQuery,
): Promise<{ raw: unknown; series: MonitorSeries[] }> {
  const params = new URLSearchParams({
    service: query.service,
    groupByOperation: 'true',
    endTs: String(query.endTs),
    lookback: String(query.lookback),
    step: String(query.step),
    ratePer: String(query.ratePer),
  });
  if (query.quantile !== undefined) params.set('quantile', String(query.quantile));
  for (const spanKind of query.spanKinds) params.append('spanKind', spanKind);
  const response = await fetch(`${url}/api/metrics/${kind}?${params}`);
  const raw = (await response.json()) as MetricFamilyJson;
  if (!response.ok) throw new Error(`GET /api/metrics/${kind}: HTTP ${response.status} ${JSON.stringify(raw)}`);
  const series: MonitorSeries[] = (raw.metrics ?? []).map((metric) => {
    const label = (name: string) => metric.labels.find((l) => l.name === name)?.value ?? '';
    return {
      service: label('service_name'),
      operation: label('operation'),
      points: (metric.metricPoints ?? []).map((p) => ({ time: p.timestamp, value: Number(p.gaugeValue.doubleValue) })),
    };
  });
  return { raw, series };
}
