/* eslint-disable @typescript-eslint/no-explicit-any -- the parsed Grafana dashboard has an open shape */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './bridge-process.js';

/** deploy/grafana/dashboards/agent-runs.json, parsed. */
export const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/dashboards/agent-runs.json'), 'utf8'));

/** Every panel, rows' nested panels included. */
export function allPanels(panels: any[] = dashboard.panels): any[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

/** The Prometheus queries of the panels, each with its panel's title, as written (variables unsubstituted). */
export function prometheusTargets(): { panel: string; expr: string }[] {
  const out: { panel: string; expr: string }[] = [];
  for (const panel of allPanels()) {
    for (const target of panel.targets ?? []) {
      const uid = target.datasource?.uid ?? panel.datasource?.uid;
      if (uid === 'prometheus' && target.expr) out.push({ panel: String(panel.title), expr: String(target.expr) });
    }
  }
  return out;
}

/**
 * Whether a query reads the Collector's span metrics (the "Agent operations" row) rather than the
 * bridge's own metrics: those come from the spanmetrics connector, not from the bridge's /metrics.
 */
export function readsSpanMetrics(expr: string): boolean {
  return /\btraces_span_metrics_/.test(expr);
}
