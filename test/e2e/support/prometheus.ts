import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { freePort, ROOT } from '../../support/bridge-process.js';
import { prometheusTargets } from '../../support/dashboard.js';
import { httpOk, PeerProcess } from './peer-process.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- parsed Prometheus and Grafana documents have an open shape */

export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';

/**
 * deploy/prometheus/prometheus.yml with only its targets adapted to this machine: the bridge's
 * DNS discovery becomes its loopback address, the collector's exporter its loopback port, and the
 * bearer key file a temp file. Everything else (intervals, rule files, relabelling) is kept.
 */
export function adaptPrometheusConfig(
  dir: string,
  targets: { bridge: string; collector: string; key: string },
  /** a shorter global scrape interval (e.g. '1s') for a test that waits on scrapes */
  scrapeInterval?: string,
): string {
  const config = parse(readFileSync(join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8')) as any;
  if (scrapeInterval) config.global.scrape_interval = scrapeInterval;
  for (const file of config.rule_files as string[]) copyFileSync(join(ROOT, 'deploy/prometheus', file), join(dir, file));
  writeFileSync(join(dir, 'bridge-metrics-key'), targets.key);
  for (const job of config.scrape_configs as any[]) {
    if (job.job_name === 'oprelay-bridge') {
      delete job.dns_sd_configs;
      job.static_configs = [{ targets: [targets.bridge] }];
      job.authorization.credentials_file = join(dir, 'bridge-metrics-key');
    } else if (job.job_name === 'otel-collector') {
      job.static_configs = [{ targets: [targets.collector] }];
    } else {
      throw new Error(`prometheus.yml has a job this test does not know how to adapt: ${job.job_name}`);
    }
  }
  const path = join(dir, 'prometheus.yml');
  writeFileSync(path, stringify(config));
  return path;
}

export async function prometheusPeer(configPath: string, dataDir: string, port?: number): Promise<{ process: PeerProcess; url: string }> {
  port ??= await freePort();
  const url = `http://127.0.0.1:${port}`;
  const process = new PeerProcess(
    'prometheus',
    PROMETHEUS_BIN,
    [`--config.file=${configPath}`, `--storage.tsdb.path=${dataDir}`, `--web.listen-address=127.0.0.1:${port}`],
    {},
    () => httpOk(`${url}/-/ready`),
  );
  return { process, url };
}

export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

/** The query's value now, or at `timeMs` (epoch milliseconds). */
export async function instantQuery(url: string, expr: string, timeMs?: number): Promise<Sample[]> {
  const at = timeMs === undefined ? '' : `&time=${timeMs / 1000}`;
  const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}${at}`);
  const body = (await response.json()) as { status: string; error?: string; data?: { resultType: string; result: Sample[] } };
  if (body.status !== 'success') throw new Error(`query failed: ${expr}: ${body.error}`);
  return body.data!.result;
}

export interface PanelQuery {
  panel: string;
  expr: string;
}

/** Every Prometheus query of the Grafana dashboard, with its variables substituted as Grafana would. */
export function dashboardQueries(variables: Record<string, string>): PanelQuery[] {
  return prometheusTargets().map(({ panel, expr }) => ({
    panel,
    expr: expr.replace(/\$\{?(\w+)\}?/g, (_match, name: string) => {
      if (!(name in variables)) throw new Error(`panel "${panel}" uses $${name}, which the test does not substitute`);
      return variables[name]!;
    }),
  }));
}
