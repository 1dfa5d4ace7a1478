/**
 * Jaeger's Monitor tab for agent runs, end to end on the real programs: bridge → Collector (the
 * repo's otel-collector.yaml: traces to Jaeger, the spanmetrics connector to its Prometheus
 * exporter) → Prometheus (deploy/prometheus/prometheus.yml, 1 s scrapes) → Jaeger (the repo's
 * config, metric storage on that Prometheus). Jaeger's own metrics API, the one its Monitor tab
 * calls, answers latency, call rate and error rate per operation of a project, with the failing
 * tool's error rate exactly the share of its calls that failed; the dashboard's "Agent operations"
 * row reads the same numbers from Prometheus.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AGENT_ID, freePort, tempDir } from '../support/bridge-process.js';
import { readsSpanMetrics } from '../support/dashboard.js';
import { monitorMetrics, type MonitorQuery, type MonitorSeries } from './support/jaeger-api.js';
import { waitFor, type PeerProcess } from './support/peer-process.js';
import { adaptPrometheusConfig, dashboardQueries, instantQuery, prometheusPeer } from './support/prometheus.js';
import { Stack } from './support/stack.js';

const AGENT_KEY = 'e2e-agent-key';
const METRICS_KEY = 'e2e-metrics-key';
const AUTH = { authorization: `Bearer ${AGENT_KEY}` };
const PROJECT = 'sre-monitor';
const OTHER_PROJECT = 'sre-other';
const AGENT = 'deployer';
const MODEL = 'gpt-4o';
const TOOL = 'kubectl_apply';
const OPERATIONS = { agent: `invoke_agent ${AGENT}`, model: `chat ${MODEL}`, tool: `execute_tool ${TOOL}` };
// Per wave: one run, one model call of 1.2 s, ten tool calls of 300 ms of which three fail.
const TOOL_CALLS = 10;
const TOOL_FAILURES = 3;

let stack: Stack;
let prometheus: PeerProcess;
let promUrl = '';
const dir = tempDir('oprelay-e2e-monitor-');

before(async () => {
  const promPort = await freePort();
  promUrl = `http://127.0.0.1:${promPort}`;
  stack = await Stack.start({ BRIDGE_API_KEYS: `${AGENT_KEY}=*;${METRICS_KEY}=read:*` }, promUrl);
  const config = adaptPrometheusConfig(
    dir,
    { bridge: new URL(stack.bridge.url).host, collector: stack.collector.env.OTELCOL_PROMETHEUS_ENDPOINT!, key: METRICS_KEY },
    '1s',
  );
  mkdirSync(join(dir, 'tsdb'));
  prometheus = (await prometheusPeer(config, join(dir, 'tsdb'), promPort)).process;
  await prometheus.start();
});

after(async () => {
  await prometheus?.stop();
  await stack?.stop();
});

async function call(tool: string, args: Record<string, unknown>): Promise<void> {
  const response = await stack.bridge.tool(tool, args, AUTH);
  assert.equal(response.status, 200, `${tool}: ${JSON.stringify(response.body)}`);
}

/** One run of the deployer: its model call and tool calls as trace entries, `failures` of the tool calls failing. */
async function wave(project: string, failures: number): Promise<void> {
  const runId = randomUUID();
  await call('core_start_run', { project_key: project, agent_id: AGENT_ID, run_id: runId, meta_json: { agent_name: AGENT } });
  const now = Date.now();
  const entry = (durationMs: number, fields: Record<string, unknown>) => ({
    ...fields,
    started_at: new Date(now - durationMs).toISOString(),
    ended_at: new Date(now).toISOString(),
  });
  const tools = Array.from({ length: TOOL_CALLS }, (_, i) =>
    entry(
      300,
      i < failures ? { tool: TOOL, status: 'error', error: 'Forbidden: deployments.apps is forbidden' } : { tool: TOOL, status: 'ok' },
    ),
  );
  // The calls as trace entries only (no token_usage), so the spans counted are exactly these.
  await call('core_end_run', {
    run_id: runId,
    status: 'completed',
    traces: [entry(1200, { model: MODEL, input_tokens: 1000, output_tokens: 200 }), ...tools],
  });
}

/** Calls of an operation as Prometheus holds them now (the spanmetrics counter, summed over status codes). */
async function callsInPrometheus(project: string, operation: string): Promise<number> {
  const result = await instantQuery(promUrl, `sum(traces_span_metrics_calls_total{service_name="${project}",span_name="${operation}"})`);
  return Number(result[0]?.value[1] ?? 0);
}

/** Waits until Prometheus holds `runs` waves of the project's spans; answers when it first did. */
async function scrapedWaves(runs: number): Promise<number> {
  await waitFor(
    `Prometheus to hold the span metrics of ${runs} run(s)`,
    async () =>
      (await callsInPrometheus(PROJECT, OPERATIONS.tool)) === runs * TOOL_CALLS &&
      (await callsInPrometheus(PROJECT, OPERATIONS.model)) === runs &&
      (await callsInPrometheus(PROJECT, OPERATIONS.agent)) === runs,
    90_000,
    250,
  );
  return Date.now();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const lastValue = (series: MonitorSeries[], operation: string): number => {
  const found = series.find((s) => s.operation === operation);
  assert.ok(found && found.points.length > 0, `a series for "${operation}": ${JSON.stringify(series.map((s) => s.operation))}`);
  return found.points.at(-1)!.value;
};

test("Jaeger's metrics API answers latency, calls and error rate per operation of a project, from the Collector's span metrics", async () => {
  // Wave 1 creates the series; wave 2, with the same share of failures, moves them. Jaeger's rates
  // (Prometheus rate()) see a counter's increase inside their window, so the window starts after
  // wave 1 was scraped whole and ends after wave 2 was: its error rate is then exactly 3/10.
  await wave(PROJECT, TOOL_FAILURES);
  await wave(OTHER_PROJECT, TOOL_CALLS);
  const firstScraped = await scrapedWaves(1);
  await sleep(4_000);
  await wave(PROJECT, TOOL_FAILURES);
  await wave(OTHER_PROJECT, TOOL_CALLS);
  await scrapedWaves(2);
  await sleep(2_000);

  const endTs = Date.now();
  // Whole seconds under a minute: Jaeger turns ratePer into a PromQL range by Go's duration text.
  const ratePer = Math.floor((endTs - firstScraped - 1_000) / 1_000) * 1_000;
  assert.ok(ratePer >= 2_000 && ratePer < 60_000, `the rate window (${ratePer} ms) fits the waves`);
  const query: MonitorQuery = { service: PROJECT, spanKinds: ['internal', 'client'], endTs, lookback: 30_000, step: 1_000, ratePer };
  const calls = await monitorMetrics(stack.api.url, 'calls', query);
  const errors = await monitorMetrics(stack.api.url, 'errors', query);
  const latencies = await monitorMetrics(stack.api.url, 'latencies', { ...query, quantile: 0.95 });
  const context = `\ncalls: ${JSON.stringify(calls.series)}\nerrors: ${JSON.stringify(errors.series)}\n${stack.logs()}`;

  for (const series of [calls.series, errors.series, latencies.series])
    assert.deepEqual([...new Set(series.map((s) => s.service))], [PROJECT], `only ${PROJECT}'s series${context}`);
  for (const operation of Object.values(OPERATIONS)) {
    assert.ok(lastValue(calls.series, operation) > 0, `${operation} has a call rate${context}`);
    assert.ok(Number.isFinite(lastValue(latencies.series, operation)), `${operation} has a p95 latency${context}`);
  }
  // Model and tool series were born and moved in the same flushes, so their rates compare exactly.
  const ratio = lastValue(calls.series, OPERATIONS.tool) / lastValue(calls.series, OPERATIONS.model);
  assert.ok(Math.abs(ratio - TOOL_CALLS) < 1e-9, `ten tool calls per model call: ${ratio}${context}`);
  const toolErrorRate = lastValue(errors.series, OPERATIONS.tool);
  assert.ok(Math.abs(toolErrorRate - TOOL_FAILURES / TOOL_CALLS) < 1e-9, `the tool's error rate is 3/10: ${toolErrorRate}${context}`);
  // p95 falls in the bucket holding the calls: 250 ms..500 ms for 300 ms tools, 1 s..2.5 s for the 1.2 s model call.
  const toolP95 = lastValue(latencies.series, OPERATIONS.tool);
  const modelP95 = lastValue(latencies.series, OPERATIONS.model);
  assert.ok(toolP95 > 250 && toolP95 <= 500, `tool p95 ${toolP95} ms`);
  assert.ok(modelP95 > 1_000 && modelP95 <= 2_500, `model p95 ${modelP95} ms`);

  const excerpt = {
    calls_per_s: Object.fromEntries(calls.series.map((s) => [s.operation, s.points.at(-1)?.value])),
    error_rate: Object.fromEntries(errors.series.map((s) => [s.operation, s.points.at(-1)?.value])),
    p95_ms: Object.fromEntries(latencies.series.map((s) => [s.operation, s.points.at(-1)?.value])),
  };
  console.log(`Jaeger /api/metrics for service=${PROJECT} (ratePer=${ratePer} ms, last point): ${JSON.stringify(excerpt)}`);
  const rawTool = (errors.raw as { metrics: { labels: { value: string }[]; metricPoints: unknown[] }[] }).metrics.find((m) =>
    m.labels.some((l) => l.value === OPERATIONS.tool),
  );
  console.log(
    `Jaeger /api/metrics/errors, the tool's series (last point): ${JSON.stringify({ ...rawTool, metricPoints: rawTool?.metricPoints.slice(-1) })}`,
  );

  // The dashboard's "Agent operations" row, on the same Prometheus, window and time: the same numbers.
  const panels = dashboardQueries({ project: PROJECT, __range: '5m', __rate_interval: `${ratePer / 1000}s` }).filter(({ expr }) =>
    readsSpanMetrics(expr),
  );
  assert.equal(panels.length, 3, 'latency, calls and error rate panels');
  for (const { panel, expr } of panels) {
    const result = await instantQuery(promUrl, expr, endTs);
    const tool = result.find((s) => s.metric.span_name === OPERATIONS.tool);
    assert.ok(tool, `panel "${panel}" has the tool's series: ${expr} → ${JSON.stringify(result)}`);
    assert.deepEqual([...new Set(result.map((s) => s.metric.service_name))], [PROJECT], `panel "${panel}" shows only ${PROJECT}`);
    const value = Number(tool.value[1]);
    if (panel === 'Operation error rate') assert.ok(Math.abs(value - toolErrorRate) < 1e-9, `${panel}: ${value}`);
    if (panel === 'Operation latency p95') assert.ok(Math.abs(value - toolP95) < 1e-9, `${panel}: ${value}`);
    if (panel === 'Operation calls (per min)')
      assert.ok(Math.abs(value - lastValue(calls.series, OPERATIONS.tool) * 60) < 1e-9, `${panel}: ${value}`);
  }
});
