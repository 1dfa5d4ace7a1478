/* eslint-disable @typescript-eslint/no-explicit-any -- parsed YAML documents have an open shape */
/**
 * The span metrics that feed Jaeger's Monitor tab, checked across the files that must agree:
 * otel-collector.yaml's spanmetrics connector (bounded dimensions, agent-run buckets), the metric
 * storage in deploy/jaeger/config.yaml (the names it queries), deploy/prometheus/prometheus.yml
 * (scrapes the Collector's exporter) and the dashboard's "Agent operations" row (reads the same
 * series Jaeger reads). test/e2e/jaeger-monitor.e2e.test.ts runs them for real.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { ROOT } from './support/bridge-process.js';
import { allPanels, prometheusTargets, readsSpanMetrics } from './support/dashboard.js';

const read = (...parts: string[]): any => parse(readFileSync(join(ROOT, ...parts), 'utf8'), { merge: true });
const collector = read('otel-collector.yaml');
const jaeger = read('deploy/jaeger/config.yaml');
const prometheus = read('deploy/prometheus/prometheus.yml');
const compose = read('docker-compose.yml');
const connector = collector.connectors.spanmetrics;

/** A `${env:NAME:-default}` value as compose runs it. */
const composeValue = (value: unknown) => String(value).replace(/\$\{env:\w+:-([^}]*)\}/g, '$1');

/** Go duration text (as the connector reads its buckets) in milliseconds. */
function durationMs(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(String(text));
  assert.ok(match, `bucket ${text} is a duration`);
  return Number(match[1]) * units[match[2]!]!;
}

/** Jaeger's metric storage backend that jaeger_query reads. */
function jaegerMetricStorage(): any {
  const name = jaeger.extensions.jaeger_query.storage.metrics;
  assert.ok(name, 'jaeger_query has a metrics storage');
  const backend = jaeger.extensions.jaeger_storage.metric_backends?.[name]?.prometheus;
  assert.ok(backend, `metric_backends.${name} is a prometheus backend`);
  return backend;
}

/** The Prometheus names Jaeger's reader queries, as the Collector's prometheus exporter writes them. */
function jaegerMetricNames(): { calls: string; durationBucket: string } {
  const backend = jaegerMetricStorage();
  const units: Record<string, string> = { ms: 'milliseconds', s: 'seconds' };
  return {
    calls: `${backend.metric_namespace}_calls${backend.normalize_calls ? '_total' : ''}`,
    durationBucket: `${backend.metric_namespace}_duration${backend.normalize_duration ? `_${units[backend.latency_unit]}` : ''}_bucket`,
  };
}

test('the spanmetrics connector turns the traces pipeline into metrics for the Prometheus exporter', () => {
  const { traces, metrics } = collector.service.pipelines;
  assert.ok(traces.exporters.includes('spanmetrics'), 'every span the Collector accepts is counted');
  assert.ok(metrics.receivers.includes('spanmetrics'));
  assert.deepEqual(metrics.exporters, ['prometheus']);
});

test('span metric dimensions stay bounded: only project, span name, span kind and status code', () => {
  for (const key of ['dimensions', 'calls_dimensions', 'include_instrumentation_scope'])
    assert.equal(connector[key], undefined, `${key} would add labels (a run id would make one series per run)`);
  assert.equal(connector.histogram.dimensions, undefined);
  assert.notEqual(connector.events?.enabled, true, 'no events metric');
  assert.notEqual(connector.exemplars?.enabled, true, 'no exemplars (they carry trace ids)');
  assert.ok(connector.aggregation_cardinality_limit > 0, 'a hard limit on series, beyond which data points overflow');
  assert.equal(connector.aggregation_temporality, 'AGGREGATION_TEMPORALITY_CUMULATIVE', 'Prometheus counters are cumulative');
  assert.deepEqual(connector.resource_metrics_key_attributes, ['service.name', 'service.namespace'], 'one resource per project');
});

test('duration buckets fit agent runs: ascending from 100 ms to 1 h', () => {
  assert.equal(connector.histogram.unit, 'ms');
  const buckets = (connector.histogram.explicit.buckets as string[]).map(durationMs);
  assert.equal(buckets[0], 100);
  assert.equal(buckets.at(-1), 3_600_000);
  for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]! > buckets[i - 1]!, `bucket ${i} is above the one before`);
  assert.ok(buckets.length <= 20, `${buckets.length} buckets: each is one series per operation`);
});

test("Jaeger's metric storage queries the names and unit the connector produces", () => {
  const backend = jaegerMetricStorage();
  // The prometheus exporter turns the namespace's dots into underscores.
  assert.equal(backend.metric_namespace, String(connector.namespace).replaceAll('.', '_'));
  assert.equal(backend.latency_unit, connector.histogram.unit);
  // The exporter appends _total to counters and the unit to the histogram.
  assert.equal(backend.normalize_calls, true);
  assert.equal(backend.normalize_duration, true);
  assert.deepEqual(jaegerMetricNames(), {
    calls: 'traces_span_metrics_calls_total',
    durationBucket: 'traces_span_metrics_duration_milliseconds_bucket',
  });
});

test("Jaeger reads the compose Prometheus, which scrapes the Collector's exporter", () => {
  const endpoint = jaegerMetricStorage().endpoint;
  assert.match(endpoint, /^\$\{env:JAEGER_PROMETHEUS_ENDPOINT:-[^}]+\}$/, 'the endpoint can be moved by the environment');
  const url = new URL(composeValue(endpoint));
  assert.ok(url.hostname in compose.services, `${url.hostname} is a compose service`);
  assert.match(compose.services[url.hostname].image, /^prom\/prometheus:/);
  assert.deepEqual(compose.services.prometheus.ports, [`${url.port}:9090`]);
  const exporterPort = composeValue(collector.exporters.prometheus.endpoint).split(':').pop();
  const job = prometheus.scrape_configs.find((j: any) => j.job_name === 'otel-collector');
  assert.deepEqual(
    job.static_configs.flatMap((s: any) => s.targets),
    [`otel-collector:${exporterPort}`],
  );
});

test('the dashboard\'s "Agent operations" row reads the series Jaeger reads, per project', () => {
  const names = jaegerMetricNames();
  const queries = prometheusTargets().filter(({ expr }) => readsSpanMetrics(expr));
  assert.deepEqual([...new Set(queries.map((q) => q.panel))].sort(), [
    'Operation calls (per min)',
    'Operation error rate',
    'Operation latency p95',
  ]);
  const row = allPanels().find((p) => p.type === 'row' && p.title === 'Agent operations (span metrics)');
  assert.ok(row, 'the row exists');
  const underRow = allPanels().filter((p) => p.gridPos.y === row.gridPos.y + 1);
  assert.deepEqual(underRow.map((p) => p.title).sort(), ['Operation calls (per min)', 'Operation error rate', 'Operation latency p95']);
  for (const { panel, expr } of queries) {
    for (const metric of expr.match(/\btraces_span_metrics_\w+/g) ?? [])
      assert.ok([names.calls, names.durationBucket].includes(metric), `${panel}: ${metric} is a series Jaeger reads`);
    for (const selector of expr.match(/\{[^}]*\}/g) ?? [])
      assert.match(selector, /service_name=~"\$project"/, `${panel}: filtered by project`);
    for (const clause of expr.match(/by \(([^)]*)\)/g) ?? [])
      for (const label of clause
        .slice(4, -1)
        .split(',')
        .map((l) => l.trim()))
        assert.ok(['service_name', 'span_name', 'le'].includes(label), `${panel}: grouped by the bounded label ${label}`);
  }
  const byPanel = Object.fromEntries(queries.map((q) => [q.panel, q.expr]));
  assert.match(byPanel['Operation latency p95']!, /^histogram_quantile\(0\.95, sum by \(service_name, span_name, le\)/);
  assert.match(byPanel['Operation error rate']!, /status_code="STATUS_CODE_ERROR"/, 'errors as Jaeger counts them');
});
