#!/usr/bin/env node
// `npm run stack`: the bridge with a real Jaeger next to it, as local processes on 127.0.0.1, so a
// first run is visible in a trace UI without Docker. It builds what is missing once per machine
// (the bridge's dist/, the Jaeger binary through scripts/peers.sh), starts Jaeger on the repo's
// deploy/jaeger/config.yaml (and, on request, the Collector on otel-collector.yaml and Prometheus
// on deploy/prometheus/prometheus.yml), starts the bridge pointed at them, prints the Jaeger URL of
// the first run it sees, and on Ctrl-C (SIGINT or SIGTERM) stops the bridge first (it drains into
// Jaeger), then the peers, and exits once every child has ended. Options: docs/running.md.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { stackOptions } from './stack-options.mjs';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const { options, peersDir, prometheusBin } = stackOptions();
const say = (line) => process.stdout.write(`stack: ${line}\n`);

/** Runs a set-up command to its end with its output shown; exits the stack when it fails. */
function setUp(what, command, args, env = {}) {
  const run = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (run.status !== 0) {
    process.stderr.write(`stack: ${what} failed (exit ${run.status ?? run.signal}); nothing was started\n`);
    process.exit(1);
  }
}

/** A free loopback port, or the fixed one after checking nothing listens there. */
async function port(fixed) {
  const server = createServer();
  const wanted = options.ports === 'free' ? 0 : fixed;
  try {
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(wanted, '127.0.0.1', resolve);
    });
  } catch {
    process.stderr.write(`stack: port ${fixed} on 127.0.0.1 is in use; stop what listens there, or run npm run stack -- --ports free\n`);
    process.exit(1);
  }
  const chosen = server.address().port;
  await new Promise((resolve) => server.close(resolve));
  return chosen;
}

const children = [];
let stopping = false;
/** temp folder of this stack: peer logs, the Collector's queue, Prometheus' data; removed at stop */
let workDir;
const logsDir = () => join(workDir, 'logs');

/** Starts a child in its own process group (Ctrl-C reaches only this script, which stops them in order). */
function start(name, command, args, env, logFile) {
  const child = spawn(command, args, {
    cwd: root,
    detached: true,
    env: { ...process.env, ...env },
    stdio: ['ignore', logFile ? 'pipe' : 'inherit', logFile ? 'pipe' : 'inherit'],
  });
  if (logFile) {
    const out = createWriteStream(logFile);
    child.stdout.pipe(out);
    child.stderr.pipe(out);
  }
  const entry = { name, child, logFile, exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal))) };
  children.push(entry);
  entry.exited.then((code) => {
    if (stopping) return;
    process.stderr.write(`stack: ${name} exited (${code}) on its own; stopping the rest\n`);
    if (logFile && existsSync(logFile)) {
      const tail = readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-15).join('\n');
      process.stderr.write(`stack: the last lines of ${logFile}:\n${tail}\n`);
    }
    void stop(1);
  });
  return entry;
}

async function until(what, check, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !stopping) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  if (!stopping) throw new Error(`${what} did not start within ${timeoutMs / 1000} s`);
}

const ok = (url) => fetch(url, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok);

/** SIGTERM to the child's group, SIGKILL after graceMs; resolves once it has exited. */
async function end(entry, graceMs) {
  if (entry.child.exitCode !== null || entry.child.signalCode !== null) return entry.exited;
  const signal = (sig) => {
    try {
      process.kill(-entry.child.pid, sig);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), graceMs);
  const code = await entry.exited;
  clearTimeout(timer);
  return code;
}

let exitCode = 0;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  exitCode = code;
  say('stopping: the bridge first (it drains into the collector), then the peers');
  // the bridge first, so its last spans reach Jaeger; it bounds its own shutdown (BRIDGE_SHUTDOWN_TIMEOUT)
  const bridge = children.find((c) => c.name === 'bridge');
  if (bridge) {
    const bridgeCode = await end(bridge, 15_000);
    if (exitCode === 0 && bridgeCode !== 0) exitCode = typeof bridgeCode === 'number' ? bridgeCode : 1;
  }
  for (const entry of [...children].reverse()) if (entry !== bridge) await end(entry, 10_000);
  // kept after a failure, for its logs
  if (workDir && exitCode === 0) rmSync(workDir, { recursive: true, force: true });
  else if (workDir) say(`peer logs kept in ${logsDir()}`);
  say(`stopped (exit ${exitCode})`);
  process.exit(exitCode);
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => void stop(0));

// 1. build what is missing: the bridge's dist/, then the peers (each once per machine)
setUp('building the bridge', process.execPath, [join(root, 'scripts', 'build-if-stale.mjs')]);
const peers = ['jaeger', ...(options.collector ? ['otelcol-oprelay'] : [])];
setUp('building the peers', 'bash', [join(root, 'scripts', 'peers.sh'), ...peers], { OPRELAY_PEERS_DIR: peersDir });
if (options.prometheus && !existsSync(prometheusBin)) {
  process.stderr.write(
    `stack: --prometheus needs Prometheus at ${prometheusBin} (Debian: apt-get install prometheus; or set PROMETHEUS_BIN)\n`,
  );
  process.exit(1);
}

workDir = mkdtempSync(join(tmpdir(), 'oprelay-stack-'));
const logs = logsDir();
mkdirSync(logs);

// 2. Jaeger on the repo's config, every endpoint on loopback
const jaegerPorts = {
  otlpGrpc: await port(options.collector ? 14317 : 4317),
  otlpHttp: await port(options.collector ? 14318 : 4318),
  ui: await port(16686),
  queryGrpc: await port(16685),
  health: await port(13133),
  telemetry: await port(8888),
};
const jaegerUrl = `http://127.0.0.1:${jaegerPorts.ui}`;
// chosen now: Jaeger's Monitor tab reads span metrics from it (deploy/jaeger/config.yaml)
const promPort = options.prometheus ? await port(9090) : 9090;
const prometheusUrl = options.prometheus ? `http://127.0.0.1:${promPort}` : undefined;
start(
  'jaeger',
  join(peersDir, 'jaeger'),
  ['--config', join(root, 'deploy', 'jaeger', 'config.yaml')],
  {
    JAEGER_OTLP_GRPC_ENDPOINT: `127.0.0.1:${jaegerPorts.otlpGrpc}`,
    JAEGER_OTLP_HTTP_ENDPOINT: `127.0.0.1:${jaegerPorts.otlpHttp}`,
    JAEGER_QUERY_HTTP_ENDPOINT: `127.0.0.1:${jaegerPorts.ui}`,
    JAEGER_QUERY_GRPC_ENDPOINT: `127.0.0.1:${jaegerPorts.queryGrpc}`,
    JAEGER_HEALTH_ENDPOINT: `127.0.0.1:${jaegerPorts.health}`,
    JAEGER_TELEMETRY_HOST: '127.0.0.1',
    JAEGER_TELEMETRY_PORT: String(jaegerPorts.telemetry),
    JAEGER_PROMETHEUS_ENDPOINT: `http://127.0.0.1:${promPort}`,
  },
  join(logs, 'jaeger.log'),
);
await until('Jaeger', () => ok(`${jaegerUrl}/api/services`));
let otlpEndpoint = `http://127.0.0.1:${jaegerPorts.otlpHttp}`;

// 3. optionally the Collector in front of Jaeger, on the repo's otel-collector.yaml
let collectorPrometheus;
if (options.collector) {
  const c = {
    otlpGrpc: await port(4317),
    otlpHttp: await port(4318),
    health: await port(13134),
    prometheus: await port(8889),
    telemetry: await port(8890),
  };
  start(
    'otelcol',
    join(peersDir, 'otelcol-oprelay'),
    ['--config', join(root, 'otel-collector.yaml')],
    {
      OTELCOL_OTLP_GRPC_ENDPOINT: `127.0.0.1:${c.otlpGrpc}`,
      OTELCOL_OTLP_HTTP_ENDPOINT: `127.0.0.1:${c.otlpHttp}`,
      OTELCOL_HEALTH_ENDPOINT: `127.0.0.1:${c.health}`,
      OTELCOL_PROMETHEUS_ENDPOINT: `127.0.0.1:${c.prometheus}`,
      OTELCOL_TELEMETRY_HOST: '127.0.0.1',
      OTELCOL_TELEMETRY_PORT: String(c.telemetry),
      OTELCOL_STORAGE_DIR: join(workDir, 'otelcol-queue'),
      JAEGER_OTLP_GRPC_ENDPOINT: `127.0.0.1:${jaegerPorts.otlpGrpc}`,
    },
    join(logs, 'otelcol.log'),
  );
  await until('the Collector', () => ok(`http://127.0.0.1:${c.health}/`));
  otlpEndpoint = `http://127.0.0.1:${c.otlpHttp}`;
  collectorPrometheus = `127.0.0.1:${c.prometheus}`;
}

// 4. the bridge, pointed at them (its own settings from the environment win, except the OTLP target)
const bridgePort = process.env.BRIDGE_PORT && options.ports === 'fixed' ? Number(process.env.BRIDGE_PORT) : await port(8787);
const bridgeUrl = `http://127.0.0.1:${bridgePort}`;
start('bridge', process.execPath, [join(root, 'dist', 'cli.js'), 'serve'], {
  BRIDGE_HOST: '127.0.0.1',
  BRIDGE_PORT: String(bridgePort),
  BRIDGE_TRACE_URL: `${jaegerUrl}/trace/{trace_id}`,
  OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint,
  // Jaeger takes traces only; the Collector takes the bridge's OTLP metrics too
  OTEL_METRICS_EXPORTER: process.env.OTEL_METRICS_EXPORTER || (options.collector ? 'otlp,prometheus' : 'prometheus'),
});
await until('the bridge', () => ok(`${bridgeUrl}/healthz`));

// 5. optionally Prometheus, on the repo's config with its targets on loopback
if (options.prometheus) {
  const { parse, stringify } = await import('yaml');
  const config = parse(readFileSync(join(root, 'deploy', 'prometheus', 'prometheus.yml'), 'utf8'));
  const dir = join(workDir, 'prometheus');
  mkdirSync(dir);
  for (const file of config.rule_files ?? []) copyFileSync(join(root, 'deploy', 'prometheus', file), join(dir, file));
  writeFileSync(join(dir, 'bridge-metrics-key'), process.env.BRIDGE_METRICS_KEY || 'no-key-on-loopback');
  config.scrape_configs = config.scrape_configs.flatMap((job) => {
    if (job.job_name === 'oprelay-bridge') {
      delete job.dns_sd_configs;
      delete job.relabel_configs;
      return [
        {
          ...job,
          static_configs: [{ targets: [`127.0.0.1:${bridgePort}`] }],
          authorization: { ...job.authorization, credentials_file: join(dir, 'bridge-metrics-key') },
        },
      ];
    }
    if (job.job_name === 'otel-collector')
      return collectorPrometheus ? [{ ...job, static_configs: [{ targets: [collectorPrometheus] }] }] : [];
    return [job];
  });
  writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
  start(
    'prometheus',
    prometheusBin,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ],
    {},
    join(logs, 'prometheus.log'),
  );
  await until('Prometheus', () => ok(`${prometheusUrl}/-/ready`));
}

say(`bridge      ${bridgeUrl}  (live page ${bridgeUrl}/)`);
say(`Jaeger UI   ${jaegerUrl}`);
if (options.collector) say(`Collector   ${otlpEndpoint} → Jaeger`);
if (prometheusUrl) say(`Prometheus  ${prometheusUrl}`);
say(`peer logs   ${logs}`);
say('waiting for the first run (paste a README example, or npm run example); Ctrl-C stops everything');

// 6. the first run the bridge records from now on, printed once Jaeger has its trace
const seen = new Set();
const listRuns = async () => {
  // with API keys set, a key for every project ('*', read-only is enough) in OPRELAY_API_KEY
  const headers = process.env.OPRELAY_API_KEY ? { authorization: `Bearer ${process.env.OPRELAY_API_KEY}` } : {};
  const answer = await fetch(`${bridgeUrl}/v1/runs?limit=20`, { headers, signal: AbortSignal.timeout(5_000) });
  if (!answer.ok) throw new Error(`GET /v1/runs answered ${answer.status}`);
  return (await answer.json()).runs;
};
for (const run of await listRuns().catch(() => [])) seen.add(run.run_id);
for (;;) {
  if (stopping) break;
  const fresh = (await listRuns().catch(() => [])).find((run) => !seen.has(run.run_id));
  if (fresh) {
    const traceId = fresh.run_id.replaceAll('-', '');
    const inJaeger = await ok(`${jaegerUrl}/api/traces/${traceId}`).catch(() => false);
    if (inJaeger) {
      say(`first run ${fresh.run_id} (${fresh.project_key}) in Jaeger: ${jaegerUrl}/trace/${traceId}`);
      break;
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
}
