/**
 * A real Prometheus scraping the bridge with deploy/prometheus/prometheus.yml (targets adapted) and
 * alerts.yml loaded: every rule loads and evaluates, and every query of the Grafana dashboard
 * returns data after realistic traffic over three projects (one assertion per panel query).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AGENT_ID, tempDir } from '../support/bridge-process.js';
import { readsSpanMetrics } from '../support/dashboard.js';
import { waitFor, type PeerProcess } from './support/peer-process.js';
import { adaptPrometheusConfig, dashboardQueries, instantQuery, prometheusPeer } from './support/prometheus.js';
import { Stack } from './support/stack.js';

// As in compose: agents hold a key for every project; Prometheus a read-only one (read:*).
const AGENT_KEY = 'e2e-agent-key';
const METRICS_KEY = 'e2e-metrics-key';
const AUTH = { authorization: `Bearer ${AGENT_KEY}` };
const PROJECTS = ['checkout', 'search', 'billing'];
const MODELS = ['gpt-4o', 'claude-sonnet-4'];

let stack: Stack;
let prometheus: PeerProcess;
let promUrl = '';
let startedRuns = 0;
const dir = tempDir('oprelay-e2e-prom-');

before(async () => {
  stack = await Stack.start({
    BRIDGE_API_KEYS: `${AGENT_KEY}=*;${METRICS_KEY}=read:*`,
    BRIDGE_BUDGETS: PROJECTS.map((p) => `${p}=50`).join(';'),
  });
  const collectorExporter = stack.collector.env.OTELCOL_PROMETHEUS_ENDPOINT!;
  const config = adaptPrometheusConfig(dir, { bridge: new URL(stack.bridge.url).host, collector: collectorExporter, key: METRICS_KEY });
  mkdirSync(join(dir, 'tsdb'));
  const peer = await prometheusPeer(config, join(dir, 'tsdb'));
  prometheus = peer.process;
  promUrl = peer.url;
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

/** One wave of agent traffic: per project, completed and failed runs with usage, failures and one that stays running. */
async function traffic(wave: number): Promise<void> {
  for (const [p, project] of PROJECTS.entries()) {
    for (let i = 0; i < 4; i++) {
      const runId = randomUUID();
      const model = MODELS[(p + i) % MODELS.length]!;
      await call('core_start_run', { project_key: project, agent_id: AGENT_ID, run_id: runId, meta_json: { agent_name: `worker-${i}` } });
      startedRuns++;
      await call('core_report_usage', {
        run_id: runId,
        token_usage: { input_tokens: 1000 * (i + 1), output_tokens: 200, cost_usd: 0.01 * (i + 1), model, llm_calls: 2 },
        traces: [{ model, input_tokens: 1000, output_tokens: 200, duration_ms: 300 }],
      });
      if (i === 3) continue; // stays running
      const failed = i === 2;
      if (failed) {
        await call('core_record_failure', {
          project_key: project,
          run_id: runId,
          agent_id: AGENT_ID,
          summary: `wave ${wave} timeout`,
          error: 'TimeoutError: upstream took 30s',
        });
      }
      await call('core_end_run', { run_id: runId, status: failed ? 'failed' : 'completed' });
    }
  }
}

/** Waits until Prometheus has scraped the bridge after the traffic so far. */
async function scrapedAllRuns(): Promise<void> {
  await waitFor(
    `Prometheus to scrape ${startedRuns} started runs`,
    async () => {
      const result = await instantQuery(promUrl, 'sum(oprelay_runs_started_total)');
      return Number(result[0]?.value[1] ?? 0) === startedRuns;
    },
    90_000,
    1_000,
  );
}

test('every alert rule in alerts.yml loads and evaluates with health ok', async () => {
  const rules = await waitFor(
    'every rule to be evaluated',
    async () => {
      const response = await fetch(`${promUrl}/api/v1/rules`);
      const body = (await response.json()) as { data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] } };
      const all = body.data.groups.flatMap((g) => g.rules);
      return all.length > 0 && all.every((r) => r.health !== 'unknown') ? all : undefined;
    },
    90_000,
    1_000,
  );
  assert.ok(rules.length >= 10, `alerts.yml has its rules loaded (${rules.length})`);
  for (const rule of rules) assert.equal(rule.health, 'ok', `${rule.name}: ${rule.lastError ?? ''}`);
});

test('every Grafana dashboard query returns data after realistic traffic', async () => {
  await waitFor(
    'the bridge target to be up',
    async () => {
      const up = await instantQuery(promUrl, 'up{job="oprelay-bridge"}');
      return up.length === 1 && up[0]!.value[1] === '1';
    },
    90_000,
    1_000,
  );

  // First wave: every series exists in Prometheus before the second wave moves it.
  await traffic(1);
  await scrapedAllRuns();
  // Second wave, with a collector outage so exports retry (the export-errors panel).
  await stack.collector.stop();
  await traffic(2);
  await waitFor('a failed export attempt', async () => (await stack.bridge.get('/metrics', AUTH)).text.includes('result="retry"'), 30_000);
  await stack.collector.start();
  await scrapedAllRuns();

  // The span-metric panels read the Collector's spanmetrics series: test/e2e/jaeger-monitor.e2e.test.ts checks them.
  const queries = dashboardQueries({ project: PROJECTS.join('|'), __range: '15m', __rate_interval: '1m' }).filter(
    ({ expr }) => !readsSpanMetrics(expr),
  );
  assert.ok(queries.length >= 20, `the dashboard's queries were found (${queries.length})`);
  for (const { panel, expr } of queries) {
    const result = await instantQuery(promUrl, expr);
    const values = result.map((s) => Number(s.value[1]));
    // Counters moved in the window, so their rates and increases are positive; gauges are present.
    const moving = /\b(rate|increase)\(/.test(expr) && !expr.includes('histogram_quantile');
    assert.ok(result.length > 0 && values.every(Number.isFinite), `panel "${panel}" has data: ${expr} → ${JSON.stringify(result)}`);
    if (moving)
      assert.ok(
        values.some((v) => v > 0),
        `panel "${panel}" shows the traffic: ${expr} → ${JSON.stringify(result)}`,
      );
  }

  // The dashboard's Jaeger panel lists a project's traces through Jaeger's search API.
  const traces = await waitFor('Jaeger to list checkout traces', async () => {
    const found = await stack.api.search('checkout');
    return found.length > 0 ? found : undefined;
  });
  assert.ok(traces.length > 0);
});
