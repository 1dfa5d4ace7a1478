/* eslint-disable @typescript-eslint/no-explicit-any -- parsed compose/collector/Grafana documents have an open shape */
/**
 * Static checks of the deployment files (docker-compose.yml, otel-collector.yaml, Dockerfile,
 * deploy/prometheus, deploy/grafana), plus one live check: every metric a dashboard panel or an
 * alert rule queries is one the real bridge exposes on /metrics after the seed flow.
 *
 *   node --import tsx --test test/deployment.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { freePort, stopChild } from './support/bridge-process.js';
import { skipWhenMissing } from './support/required-service.js';
import { allPanels, dashboard, prometheusTargets, readsSpanMetrics } from './support/dashboard.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const at = (...p: string[]) => join(ROOT, ...p);
// merge: compose files use YAML merge keys (`<<: *anchor`), as Docker Compose does.
const readYaml = (...p: string[]): any => parseYaml(readFileSync(at(...p), 'utf8'), { merge: true });

// ---------------------------------------------------------------------------------------------
// docker-compose.yml
// ---------------------------------------------------------------------------------------------

const compose = readYaml('docker-compose.yml');
const services: Record<string, any> = compose.services;

/** Splits an image reference into name and tag/digest, ignoring a registry's :port. */
function imageRef(image: string): { name: string; tag?: string; digest?: string } {
  const [withoutDigest, digest] = image.split('@');
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  if (colon > slash) return { name: withoutDigest.slice(0, colon), tag: withoutDigest.slice(colon + 1), digest };
  return { name: withoutDigest, digest };
}

function assertPinned(image: string, where: string): void {
  assert.ok(!image.includes('${'), `${where}: image "${image}" must not come from a variable`);
  const ref = imageRef(image);
  if (ref.digest) {
    assert.match(ref.digest, /^sha256:[0-9a-f]{64}$/, `${where}: bad digest in "${image}"`);
    return;
  }
  assert.ok(ref.tag, `${where}: image "${image}" has no tag`);
  assert.notEqual(ref.tag.toLowerCase(), 'latest', `${where}: image "${image}" uses latest`);
  // An exact version: at least major.minor (e.g. 0.115.1, v2.55.1, 16.6-bookworm, 20.20.2-bookworm-slim).
  assert.match(ref.tag, /^v?\d+\.\d+/, `${where}: image "${image}" is not pinned to an exact version`);
}

/** A collector config value as compose runs it: `${env:NAME:-default}` resolves to its default. */
function composeValue(value: unknown): string {
  return String(value).replace(/\$\{env:\w+:-([^}]*)\}/g, '$1');
}

function dependsOn(service: any): string[] {
  const d = service.depends_on;
  if (!d) return [];
  return Array.isArray(d) ? d : Object.keys(d);
}

interface HostPort {
  ip: string;
  port: number;
  protocol: string;
}

/** Host side of `ports:` entries, short ("[IP:]HOST:CONTAINER[/proto]") or long syntax. */
function hostPorts(service: any): HostPort[] {
  const out: HostPort[] = [];
  for (const entry of service.ports ?? []) {
    if (typeof entry === 'object') {
      if (entry.published === undefined) continue;
      out.push({ ip: entry.host_ip ?? '0.0.0.0', port: Number(entry.published), protocol: entry.protocol ?? 'tcp' });
      continue;
    }
    const [spec, protocol = 'tcp'] = String(entry).split('/');
    const parts = spec.split(':');
    if (parts.length === 1) continue; // container port only: Docker picks a free host port
    const host = parts.length === 3 ? parts[1] : parts[0];
    const ip = parts.length === 3 ? parts[0] : '0.0.0.0';
    const [from, to = from] = host.split('-').map(Number);
    for (let p = from; p <= to; p++) out.push({ ip, port: p, protocol });
  }
  return out;
}

test('docker-compose.yml parses and has the expected services', () => {
  for (const name of ['bridge', 'otel-collector', 'jaeger', 'prometheus', 'grafana', 'postgres', 'bridge-a', 'bridge-b']) {
    assert.ok(services[name], `service ${name} is missing`);
  }
  for (const name of ['postgres', 'bridge-a', 'bridge-b']) {
    assert.deepEqual(services[name].profiles, ['replicas'], `${name} belongs to the replicas profile`);
  }
  for (const name of ['bridge', 'otel-collector', 'jaeger', 'prometheus', 'grafana']) {
    assert.equal(services[name].profiles, undefined, `${name} runs without a profile`);
  }
});

test('every image in compose and the Dockerfile is pinned to an exact version', () => {
  for (const [name, svc] of Object.entries(services)) {
    assert.ok(svc.image || svc.build, `${name} has neither image nor build`);
    if (svc.image) assertPinned(svc.image, `compose service ${name}`);
  }
  const froms = readFileSync(at('Dockerfile'), 'utf8')
    .split('\n')
    .map((l) => l.match(/^\s*FROM\s+(?:--\S+\s+)*(\S+)/i)?.[1])
    .filter((x): x is string => Boolean(x));
  assert.ok(froms.length >= 2, 'the Dockerfile is multi-stage');
  for (const image of froms) assertPinned(image, 'Dockerfile FROM');
});

test('every depends_on names an existing service, with a valid condition', () => {
  for (const [name, svc] of Object.entries(services)) {
    for (const dep of dependsOn(svc)) {
      assert.ok(services[dep], `${name} depends on unknown service ${dep}`);
      const condition = Array.isArray(svc.depends_on) ? 'service_started' : (svc.depends_on[dep]?.condition ?? 'service_started');
      assert.ok(['service_started', 'service_healthy', 'service_completed_successfully'].includes(condition));
      if (condition === 'service_healthy')
        assert.ok(services[dep].healthcheck, `${name} waits for ${dep} to be healthy but ${dep} has no healthcheck`);
      // A service outside a profile must not depend on one that only runs inside it.
      if (!svc.profiles) assert.equal(services[dep].profiles, undefined, `${name} depends on profile-only ${dep}`);
    }
  }
});

test('host ports do not collide, profile services included', () => {
  const seen = new Map<string, string>();
  for (const [name, svc] of Object.entries(services)) {
    for (const hp of hostPorts(svc)) {
      for (const key of [`${hp.ip}:${hp.port}/${hp.protocol}`, `0.0.0.0:${hp.port}/${hp.protocol}`]) {
        const other = seen.get(key);
        assert.ok(!other || other === name, `host port ${hp.port}/${hp.protocol} used by ${other} and ${name}`);
      }
      seen.set(`${hp.ip}:${hp.port}/${hp.protocol}`, name);
      seen.set(`0.0.0.0:${hp.port}/${hp.protocol}`, name);
    }
  }
  const published = (svc: string) => hostPorts(services[svc]).map((p) => p.port);
  assert.ok(published('bridge').includes(8787));
  assert.ok(published('jaeger').includes(16686));
  assert.deepEqual(published('otel-collector').sort(), [13133, 4317, 4318].sort());
  assert.notDeepEqual(published('bridge-a'), published('bridge-b'));
});

test('named volumes and configs are declared, bind-mounted files exist', () => {
  for (const [name, svc] of Object.entries(services)) {
    for (const v of svc.volumes ?? []) {
      const source = typeof v === 'string' ? v.split(':')[0] : v.source;
      if (source.startsWith('.') || source.startsWith('/')) {
        assert.ok(existsSync(at(source)), `${name} mounts missing ${source}`);
      } else {
        assert.ok(compose.volumes && source in compose.volumes, `${name} uses undeclared volume ${source}`);
      }
    }
    for (const c of svc.configs ?? []) {
      const source = typeof c === 'string' ? c : c.source;
      assert.ok(compose.configs?.[source], `${name} uses undeclared config ${source}`);
    }
  }
});

test('bridges are wired to the collector, scraped directly and keep their data', () => {
  const collector = readYaml('otel-collector.yaml');
  const httpPort = composeValue(collector.receivers.otlp.protocols.http.endpoint).split(':').pop();
  for (const name of ['bridge', 'bridge-a', 'bridge-b']) {
    const env = services[name].environment;
    assert.equal(env.BRIDGE_HOST, '0.0.0.0', `${name} binds all interfaces`);
    assert.match(
      String(env.BRIDGE_API_KEYS),
      /^\$\{BRIDGE_API_KEYS:-[^}]+=\*(;[^}]*)?\}$/,
      `${name} takes keys from BRIDGE_API_KEYS with a * default`,
    );
    assert.equal(env.OTEL_EXPORTER_OTLP_ENDPOINT, `http://otel-collector:${httpPort}`);
    assert.equal(env.OTEL_METRICS_EXPORTER, 'prometheus', 'metrics are scraped, not pushed (no double counting)');
    assert.equal(env.BRIDGE_TRACE_URL, 'http://localhost:16686/trace/{trace_id}');
    assert.ok(services[name].healthcheck, `${name} has a healthcheck`);
    assert.ok(dependsOn(services[name]).includes('otel-collector'));
  }
  assert.equal(services.bridge.environment.BRIDGE_DATA_DIR, '/data');
  assert.ok(
    services.bridge.volumes.some((v: string) => v.endsWith(':/data')),
    'bridge keeps /data in a volume',
  );
  for (const name of ['bridge-a', 'bridge-b']) {
    assert.equal(services[name].environment.BRIDGE_STORE, 'postgres://postgres:postgres@postgres:5432/oprelay');
    assert.equal(services[name].depends_on.postgres.condition, 'service_healthy');
  }
  assert.deepEqual(
    services['otel-collector'].volumes.map((v: string) => v.split(':')[1]).sort(),
    ['/etc/otelcol-contrib/config.yaml', composeValue(collector.extensions.file_storage.directory)].sort(),
    'the collector gets its config and a volume for the persistent queue',
  );
});

// ---------------------------------------------------------------------------------------------
// otel-collector.yaml
// ---------------------------------------------------------------------------------------------

test('otel-collector.yaml: every component used is defined and every defined one is used', () => {
  const c = readYaml('otel-collector.yaml');
  const kinds = ['receivers', 'processors', 'exporters'] as const;
  const used: Record<string, Set<string>> = {
    receivers: new Set(),
    processors: new Set(),
    exporters: new Set(),
    extensions: new Set(),
    connectors: new Set(),
  };
  // A connector is the exporter of one pipeline and the receiver of another.
  const connectorUse: Record<string, Set<string>> = {};
  const pipelines = c.service.pipelines as Record<string, Record<string, string[]>>;
  assert.deepEqual(Object.keys(pipelines).sort(), ['metrics', 'traces']);
  for (const [pname, p] of Object.entries(pipelines)) {
    for (const kind of kinds) {
      for (const id of p[kind] ?? []) {
        if (kind !== 'processors' && c.connectors && id in c.connectors) {
          (connectorUse[id] ??= new Set()).add(kind);
          used.connectors.add(id);
          continue;
        }
        assert.ok(c[kind] && id in c[kind], `pipeline ${pname} uses undefined ${kind.slice(0, -1)} ${id}`);
        used[kind].add(id);
      }
    }
    assert.ok(p.receivers?.length && p.exporters?.length, `pipeline ${pname} needs receivers and exporters`);
  }
  for (const id of c.service.extensions ?? []) {
    assert.ok(c.extensions && id in c.extensions, `service uses undefined extension ${id}`);
    used.extensions.add(id);
  }
  for (const kind of [...kinds, 'extensions', 'connectors'] as const) {
    for (const id of Object.keys(c[kind] ?? {})) assert.ok(used[kind].has(id), `${kind.slice(0, -1)} ${id} is defined but never used`);
  }
  for (const [id, as] of Object.entries(connectorUse)) {
    assert.deepEqual([...as].sort(), ['exporters', 'receivers'], `connector ${id} both leaves a pipeline and feeds one`);
  }
  assert.deepEqual(pipelines.traces.exporters, ['otlp_grpc/jaeger', 'spanmetrics']);
  assert.deepEqual(pipelines.metrics.receivers, ['otlp', 'spanmetrics']);
  assert.deepEqual(pipelines.metrics.exporters, ['prometheus']);
  assert.equal(composeValue(c.receivers.otlp.protocols.grpc.endpoint), '0.0.0.0:4317');
  assert.equal(composeValue(c.receivers.otlp.protocols.http.endpoint), '0.0.0.0:4318');
});

test('otel-collector.yaml: memory_limiter first in every pipeline; traces batch in the persistent queue, metrics in the batch processor', () => {
  const c = readYaml('otel-collector.yaml');
  for (const [pname, p] of Object.entries(c.service.pipelines as Record<string, { processors: string[] }>)) {
    assert.equal(p.processors[0], 'memory_limiter', `pipeline ${pname}: memory_limiter must be first`);
  }
  // A batch processor in front of the persistent queue would hold accepted spans in memory, where a crash loses them.
  assert.deepEqual(c.service.pipelines.traces.processors, ['memory_limiter']);
  assert.ok(c.exporters['otlp_grpc/jaeger'].sending_queue.batch, 'traces are batched inside the sending queue');
  assert.deepEqual(c.service.pipelines.metrics.processors, ['memory_limiter', 'batch']);
});

test('otel-collector.yaml: the Jaeger exporter has a persistent, retrying queue', () => {
  const c = readYaml('otel-collector.yaml');
  const jaeger = c.exporters['otlp_grpc/jaeger'];
  assert.equal(composeValue(jaeger.endpoint), 'jaeger:4317');
  assert.equal(jaeger.tls.insecure, true);
  assert.notEqual(jaeger.sending_queue.enabled, false);
  assert.equal(jaeger.sending_queue.storage, 'file_storage');
  assert.ok('file_storage' in c.extensions && c.service.extensions.includes('file_storage'));
  assert.equal(composeValue(c.extensions.file_storage.directory), '/var/lib/otelcol/file_storage');
  assert.equal(jaeger.retry_on_failure.enabled, true);
  assert.equal(jaeger.retry_on_failure.max_elapsed_time, '0s', 'retries for as long as the data is queued');
  assert.equal(composeValue(c.exporters.prometheus.endpoint), '0.0.0.0:8889');
  assert.ok('health_check' in c.extensions && c.service.extensions.includes('health_check'));
});

// ---------------------------------------------------------------------------------------------
// Prometheus
// ---------------------------------------------------------------------------------------------

const skipPromtool = skipWhenMissing(
  'promtool',
  spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0
    ? undefined
    : 'promtool is not on PATH (apt-get install -y prometheus)',
);

test('prometheus.yml parses, its rule files exist and its targets are compose services', () => {
  const prom = readYaml('deploy', 'prometheus', 'prometheus.yml');
  assert.ok(prom.rule_files?.length, 'rule_files are listed');
  const mounts: string[] = services.prometheus.volumes;
  for (const file of prom.rule_files as string[]) {
    assert.ok(existsSync(at('deploy', 'prometheus', file)), `rule file ${file} exists next to prometheus.yml`);
    assert.ok(
      mounts.some((m) => m.startsWith(`./deploy/prometheus/${file}:`)),
      `compose mounts ${file}`,
    );
  }
  const jobs = Object.fromEntries((prom.scrape_configs as any[]).map((j) => [j.job_name, j]));
  const bridge = jobs['oprelay-bridge'];
  assert.ok(bridge, 'the bridge is scraped directly');
  assert.equal(bridge.authorization.type, 'Bearer');
  const keyFile = bridge.authorization.credentials_file;
  assert.ok(
    services.prometheus.configs.some((c: any) => c.target === keyFile),
    'the bearer key file is mounted',
  );
  const bridgeNames = (bridge.dns_sd_configs ?? []).flatMap((d: any) => d.names);
  for (const name of ['bridge', 'bridge-a', 'bridge-b']) assert.ok(bridgeNames.includes(name), `${name} is scraped`);
  for (const d of bridge.dns_sd_configs) assert.equal(d.port, 8787);
  const collectorTargets = jobs['otel-collector'].static_configs.flatMap((s: any) => s.targets);
  assert.deepEqual(collectorTargets, ['otel-collector:8889']);
  for (const name of bridgeNames) assert.ok(services[name], `scrape target ${name} is a compose service`);
});

test('alert rules pass promtool check and unit tests', { skip: skipPromtool }, () => {
  for (const args of [
    ['check', 'rules', 'deploy/prometheus/alerts.yml'],
    ['test', 'rules', 'deploy/prometheus/alerts.test.yml'],
    ['check', 'config', '--syntax-only', 'deploy/prometheus/prometheus.yml'],
  ]) {
    const r = spawnSync('promtool', args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `promtool ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
  }
});

test('alerts.yml documents its thresholds and covers the required alerts', () => {
  const text = readFileSync(at('deploy', 'prometheus', 'alerts.yml'), 'utf8');
  const rules = (parseYaml(text).groups as any[]).flatMap((g) => g.rules);
  const header = text.slice(0, text.indexOf('groups:'));
  for (const r of rules) {
    assert.ok(header.includes(r.alert), `threshold of ${r.alert} is documented at the top`);
    assert.ok(r.labels?.severity, `${r.alert} has a severity`);
    assert.ok(r.annotations?.summary, `${r.alert} has a summary`);
  }
  const exprs = rules.map((r) => String(r.expr)).join('\n');
  for (const needle of [
    'increase(oprelay_usage_cost_total[1h])',
    'oprelay_runs_ended_total{status="failed"}',
    'oprelay_run_duration_bucket',
    'oprelay_outbox_depth',
    'oprelay_outbox_oldest_age',
    'oprelay_export_spans_total{result!="success"}',
    'up{job="oprelay-bridge"} == 0',
    'oprelay_budget_remaining',
  ]) {
    assert.ok(exprs.includes(needle), `an alert uses ${needle}`);
  }
});

test('alerts.test.yml has a firing and a quiet case for every alert rule', () => {
  const rules = (readYaml('deploy', 'prometheus', 'alerts.yml').groups as any[]).flatMap((g) => g.rules).map((r) => r.alert as string);
  const firing = new Set<string>();
  const quiet = new Set<string>();
  const projectsOf = (text: string) => [...text.matchAll(/oprelay_project_key="([^"]+)"/g)].map((m) => m[1]);
  for (const group of readYaml('deploy', 'prometheus', 'alerts.test.yml').tests as any[]) {
    const inputProjects = new Set((group.input_series as any[]).flatMap((s) => projectsOf(s.series)));
    for (const t of group.alert_rule_test ?? []) {
      const expected = (t.exp_alerts ?? []) as { exp_labels: Record<string, string> }[];
      if (expected.length === 0) {
        quiet.add(t.alertname);
        continue;
      }
      firing.add(t.alertname);
      // a per-project rule is also shown quiet when a project in the input stays out of the alerts
      const alerting = new Set(expected.map((e) => e.exp_labels.oprelay_project_key));
      if ([...inputProjects].some((p) => !alerting.has(p))) quiet.add(t.alertname);
    }
  }
  assert.deepEqual(
    rules.filter((a) => !firing.has(a)),
    [],
    'alerts without a firing case',
  );
  assert.deepEqual(
    rules.filter((a) => !quiet.has(a)),
    [],
    'alerts without a quiet case',
  );
});

// ---------------------------------------------------------------------------------------------
// Grafana
// ---------------------------------------------------------------------------------------------

/**
 * Every PromQL query of the dashboard on the bridge's metrics: panel targets on Prometheus and
 * template variables (the span-metric panels read the Collector's series: test/span-metrics-config.test.ts).
 */
function dashboardQueries(): string[] {
  const out = prometheusTargets()
    .map((t) => t.expr)
    .filter((expr) => !readsSpanMetrics(expr));
  for (const v of dashboard.templating?.list ?? []) {
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    if (v.type === 'query' && q) out.push(q);
  }
  return out;
}

function alertQueries(): string[] {
  const rules = (readYaml('deploy', 'prometheus', 'alerts.yml').groups as any[]).flatMap((g) => g.rules);
  return rules.map((r) => String(r.expr));
}

const LABEL_CLAUSE = /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g;

/** Metric names and label names a PromQL expression refers to. */
function promqlRefs(expr: string): { metrics: Set<string>; labels: Set<string> } {
  const labels = new Set<string>();
  const lv = expr.match(/label_values\(\s*([a-zA-Z_:][\w:]*)\s*,\s*([a-zA-Z_]\w*)\s*\)/);
  if (lv) return { metrics: new Set([lv[1]]), labels: new Set([lv[2]]) };
  let rest = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  rest = rest.replace(/\{([^}]*)\}/g, (_m, body: string) => {
    for (const m of body.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)) labels.add(m[1]);
    return ' ';
  });
  rest = rest.replace(LABEL_CLAUSE, (_m, body: string) => {
    for (const l of body
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean))
      labels.add(l);
    return ' ';
  });
  const metrics = new Set(rest.match(/\boprelay_[a-z_]+/g) ?? []);
  return { metrics, labels };
}

const stripHistogramSuffix = (name: string) => name.replace(/_(bucket|sum|count)$/, '');

test('Grafana data sources and dashboard provider are provisioned', () => {
  const ds = readYaml('deploy', 'grafana', 'provisioning', 'datasources', 'datasources.yml');
  const byUid = Object.fromEntries((ds.datasources as any[]).map((d) => [d.uid, d]));
  assert.equal(byUid.prometheus?.type, 'prometheus');
  assert.equal(byUid.prometheus?.url, 'http://prometheus:9090');
  assert.equal(byUid.jaeger?.type, 'jaeger');
  assert.equal(byUid.jaeger?.url, 'http://jaeger:16686');
  const prov = readYaml('deploy', 'grafana', 'provisioning', 'dashboards', 'dashboards.yml');
  const path = prov.providers[0].options.path;
  assert.ok(
    services.grafana.volumes.some((v: string) => v === `./deploy/grafana/dashboards:${path}:ro`),
    'dashboards folder is mounted where the provider reads',
  );
  const env = services.grafana.environment;
  assert.equal(env.GF_AUTH_ANONYMOUS_ENABLED, 'true');
  assert.equal(env.GF_AUTH_ANONYMOUS_ORG_ROLE, 'Viewer');
});

test('the "Agent runs" dashboard parses and uses only provisioned data sources', () => {
  assert.equal(dashboard.title, 'Agent runs');
  const uids = new Set(['prometheus', 'jaeger', '-- Grafana --']);
  const panels = allPanels(dashboard.panels);
  const ids = panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  for (const p of panels) {
    if (p.datasource) assert.ok(uids.has(p.datasource.uid), `panel "${p.title}" uses unknown data source ${p.datasource.uid}`);
    for (const t of p.targets ?? []) if (t.datasource) assert.ok(uids.has(t.datasource.uid));
  }
  const exprs = dashboardQueries().join('\n');
  for (const needle of [
    'oprelay_runs_started_total',
    'oprelay_runs_ended_total',
    'max by (oprelay_project_key) (oprelay_runs_active',
    'histogram_quantile(0.50',
    'histogram_quantile(0.95',
    'histogram_quantile(0.99',
    'oprelay_usage_tokens_total',
    'oprelay_usage_cost_total',
    'oprelay_failures_total',
    'max(oprelay_outbox_depth)',
    'max(oprelay_outbox_oldest_age)',
    'oprelay_export_spans_total',
  ]) {
    assert.ok(exprs.includes(needle), `the dashboard queries ${needle}`);
  }
  assert.ok(
    !/sum\s*(?:by\s*\([^)]*\)\s*)?\(\s*oprelay_(?:runs_active|outbox_depth|outbox_oldest_age|budget_remaining)\b/.test(exprs),
    'store gauges are never summed across replicas',
  );
  const text = JSON.stringify(dashboard);
  assert.ok(text.includes('http://localhost:16686/search?service=${project}'), 'a panel links to Jaeger traces');
});

// ---------------------------------------------------------------------------------------------
// Live: dashboard and alert metrics exist on the real bridge
// ---------------------------------------------------------------------------------------------

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number, child?: ChildProcess): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`${what}: the bridge exited with code ${child.exitCode}`);
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

interface Exposition {
  families: Set<string>;
  labels: Set<string>;
}

/** Metric families (histogram `_bucket/_sum/_count` stripped) and label names of a Prometheus text page. */
function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const families = new Set<string>();
  const labels = new Set<string>();
  for (const line of text.split('\n')) {
    const type = line.match(/^# TYPE (\S+) (\S+)/);
    if (type) types.set(type[1], type[2]);
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?/);
    if (!m) continue;
    const base = stripHistogramSuffix(m[1]);
    families.add(types.get(base) === 'histogram' ? base : m[1]);
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_]\w*)="/g)) labels.add(l[1]);
  }
  return { families, labels };
}

test('every metric and label the dashboard and alerts query is exposed by the bridge', { timeout: 90_000 }, async (t) => {
  assert.ok(existsSync(at('dist', 'cli.js')), 'dist/cli.js is missing: run `npm run build` first');

  // A stand-in OTLP/HTTP receiver, so span exports succeed and oprelay_export_spans_total appears.
  const received: string[] = [];
  const otlp: Server = createHttpServer((req, res) => {
    received.push(req.url ?? '');
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => otlp.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => otlp.close(() => r())));

  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'oprelay-deploy-test-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const key = 'deploy-test-key-0001';
  const logs: string[] = [];
  const child = spawn(process.execPath, ['dist/cli.js', 'serve'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      BRIDGE_HOST: '127.0.0.1',
      BRIDGE_PORT: String(port),
      BRIDGE_DATA_DIR: dataDir,
      BRIDGE_API_KEYS: `${key}=*`,
      BRIDGE_BUDGETS: 'deploy-test=100', // oprelay_budget_remaining exists only with budgets
      BRIDGE_EXPORT_INTERVAL_MS: '100',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(otlp.address() as { port: number }).port}`,
      OTEL_METRICS_EXPORTER: 'prometheus',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d) => logs.push(String(d)));
  child.stderr?.on('data', (d) => logs.push(String(d)));
  t.after(() => stopChild(child));

  const base = `http://127.0.0.1:${port}`;
  const auth = { authorization: `Bearer ${key}` };
  try {
    await waitFor('GET /healthz', async () => ((await fetch(`${base}/healthz`)).ok ? true : undefined), 20_000, child);

    const call = async (tool: string, body: unknown) => {
      const res = await fetch(`${base}/v1/tools/${tool}`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const json = (await res.json()) as any;
      assert.equal(res.status, 200, `${tool}: ${JSON.stringify(json)}`);
      return json.result;
    };
    const project_key = 'deploy-test';
    const agent_id = '6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b';
    const started = await call('core_start_run', { project_key, agent_id });
    const run_id = started.run_id;
    await call('core_report_usage', {
      run_id,
      token_usage: { input_tokens: 1200, output_tokens: 300, cost_usd: 0.042, model: 'gpt-4o', llm_calls: 2 },
    });
    await call('core_record_failure', {
      project_key,
      run_id,
      agent_id,
      summary: 'tool call timed out',
      error: 'TimeoutError: fetch_url took longer than 30s',
    });
    await call('core_end_run', { run_id, status: 'completed' });

    const wanted = { metrics: new Set<string>(), labels: new Set<string>() };
    for (const expr of [...dashboardQueries(), ...alertQueries()]) {
      const refs = promqlRefs(expr);
      refs.metrics.forEach((m) => wanted.metrics.add(stripHistogramSuffix(m)));
      refs.labels.forEach((l) => wanted.labels.add(l));
    }
    assert.ok(wanted.metrics.size >= 10, `found ${wanted.metrics.size} oprelay metrics in the queries`);

    // Poll: span export (and its counter) happens asynchronously in the relay.
    let exposed: Exposition = { families: new Set(), labels: new Set() };
    const missing = () => [...wanted.metrics].filter((m) => !exposed.families.has(m));
    await waitFor(
      'every queried metric on /metrics',
      async () => {
        const res = await fetch(`${base}/metrics`, { headers: auth });
        assert.equal(res.status, 200, 'GET /metrics with a * key');
        exposed = parseExposition(await res.text());
        return missing().length === 0 ? true : undefined;
      },
      20_000,
      child,
    ).catch(() => undefined);
    assert.deepEqual(
      missing(),
      [],
      `queried but not exposed; exposed oprelay families: ${[...exposed.families].filter((f) => f.startsWith('oprelay_')).join(', ')}`,
    );

    // Labels: Prometheus adds job/instance at scrape time, histograms carry le.
    const known = new Set([...exposed.labels, 'le', 'job', 'instance', '__name__']);
    const unknownLabels = [...wanted.labels].filter((l) => !known.has(l));
    assert.deepEqual(unknownLabels, [], 'every label used in a query is one the bridge exposes');

    const unauth = await fetch(`${base}/metrics`);
    assert.equal(unauth.status, 401, '/metrics needs a key once keys exist');
  } catch (err) {
    (err as Error).message += `\n--- bridge output ---\n${logs.join('').slice(-4000)}`;
    throw err;
  }
});
