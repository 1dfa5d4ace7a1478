/* eslint-disable @typescript-eslint/no-explicit-any -- parsed Grafana/Prometheus documents have an open shape */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { ROOT } from './support/bridge-process.js';

// What the "Agent runs" dashboard shows agrees with the alert rules, and the rules pass their
// promtool unit tests (stuck runs: the firing case, a new project and a short history).

const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/dashboards/agent-runs.json'), 'utf8'));
const rules = (parseYaml(readFileSync(join(ROOT, 'deploy/prometheus/alerts.yml'), 'utf8')).groups as any[]).flatMap((g) => g.rules);
const allPanels = (panels: any[]): any[] => panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
const hasPromtool = spawnSync('promtool', ['--version']).status === 0;

test('stat panels counting runs show whole numbers: increase() is rounded, no decimals', () => {
  const counts = allPanels(dashboard.panels).filter(
    (p) => p.type === 'stat' && p.targets?.some((t: any) => /oprelay_runs_(started|ended)_total/.test(t.expr ?? '')),
  );
  assert.deepEqual(counts.map((p) => p.title).sort(), ['Failed runs (range)', 'Runs started (range)']);
  for (const p of counts) {
    for (const t of p.targets) assert.match(t.expr, /^round\(sum\(increase\(/, `${p.title}: ${t.expr}`);
    assert.equal(p.fieldConfig.defaults.decimals, 0, `${p.title} shows no decimals`);
  }
});

test("the budget panel states the OprelayBudgetExhausted alert's threshold, and refuses at the same point", () => {
  const rule = rules.find((r) => r.alert === 'OprelayBudgetExhausted');
  const m = /(<=|<)\s*(-?[\d.]+)\s*$/.exec(String(rule.expr).trim());
  assert.ok(m, `threshold of ${rule.expr}`);
  const [, op, value] = m;
  const words = op === '<=' ? `at ${value} USD or below` : `below ${value} USD`;
  const panel = allPanels(dashboard.panels).find((p) => p.title === 'Budget remaining today (USD)');
  assert.ok(panel.description.toLowerCase().includes(words.toLowerCase()), `panel says "${words}": ${panel.description}`);
  assert.match(panel.description, /new runs/);
  assert.match(panel.description, /BRIDGE_BUDGET_ENFORCE=true/);
  const steps = panel.fieldConfig.defaults.thresholds.steps;
  assert.deepEqual(
    steps.map((s: any) => s.color),
    ['red', 'green'],
    'red at and below the threshold',
  );
  assert.ok(steps[1].value > Number(value) && steps[1].value <= Number(value) + 0.01, `green starts just above ${value}`);
});

test('the stuck-runs alert reads the oldest running run age, with a `for`', () => {
  const rule = rules.find((r) => r.alert === 'OprelayRunsStuck');
  assert.match(rule.expr, /max by \(oprelay_project_key\) \(oprelay_runs_oldest_active_age\) > 7200/);
  assert.ok(rule.for, 'OprelayRunsStuck has a for:');
});

test(
  'promtool: the rules load and their unit tests pass',
  { skip: !hasPromtool && 'promtool missing (apt-get install prometheus)' },
  () => {
    const check = spawnSync('promtool', ['check', 'rules', 'deploy/prometheus/alerts.yml'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /SUCCESS: 11 rules found/);
    const unit = spawnSync('promtool', ['test', 'rules', 'deploy/prometheus/alerts.test.yml'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(unit.status, 0, unit.stdout + unit.stderr);
    assert.match(unit.stdout, /SUCCESS/);
  },
);

test("compose: Prometheus scrapes with a read-only key, which the bridges' default BRIDGE_API_KEYS defines as read:*", () => {
  const compose = parseYaml(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });
  const metricsKey = /^\$\{BRIDGE_METRICS_KEY:-([^}]+)\}$/.exec(String(compose.configs.bridge_metrics_key.content))?.[1];
  assert.ok(metricsKey, 'the metrics key comes from BRIDGE_METRICS_KEY with a demo default');
  for (const name of ['bridge', 'bridge-a', 'bridge-b']) {
    const keys = /^\$\{BRIDGE_API_KEYS:-([^}]+)\}$/.exec(String(compose.services[name].environment.BRIDGE_API_KEYS))?.[1] ?? '';
    const entries = new Map(keys.split(';').map((e) => [e.slice(0, e.lastIndexOf('=')), e.slice(e.lastIndexOf('=') + 1)]));
    assert.equal(entries.get(metricsKey), 'read:*', `${name}: Prometheus' key is read-only for every project`);
    assert.ok([...entries.values()].includes('*'), `${name}: the demo still has a key that can call tools`);
  }
  const prom = parseYaml(readFileSync(join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8'));
  const job = prom.scrape_configs.find((j: any) => j.job_name === 'oprelay-bridge');
  assert.equal(
    job.authorization.credentials_file,
    compose.services.prometheus.configs.find((c: any) => c.source === 'bridge_metrics_key').target,
  );
});
