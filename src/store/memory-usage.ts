import type { RunRecord } from '../runs/model.js';
import { agentOf, lastFailureAt, modelOf } from './run-columns.js';
import type { FailedRunsQuery, UsageGroup, UsageQuery } from './run-store.js';

/** usageSummary over the memory store's runs: the same groups and order as the SQL stores. */
export function usageSummaryIn(all: Iterable<RunRecord>, q: UsageQuery): UsageGroup[] {
  const keyOf = (r: RunRecord) => (q.group_by === 'project' ? r.project_key : q.group_by === 'agent' ? agentOf(r) : modelOf(r));
  const groups = new Map<string | null, UsageGroup>();
  for (const r of all) {
    if (q.projects && !q.projects.includes(r.project_key)) continue;
    if (q.project_key && r.project_key !== q.project_key) continue;
    if (q.agent && agentOf(r) !== q.agent) continue;
    if (q.since !== undefined && r.started_at < q.since) continue;
    if (q.until !== undefined && r.started_at >= q.until) continue;
    const key = keyOf(r);
    let g = groups.get(key);
    if (!g) {
      g = { key, runs: 0, failed_runs: 0, failures: 0, input_tokens: 0, output_tokens: 0, total_tokens: 0, cost_usd: 0, llm_calls: 0 };
      groups.set(key, g);
    }
    g.runs += 1;
    if (r.status === 'failed') g.failed_runs += 1;
    g.failures += r.failures;
    g.input_tokens += r.totals.input_tokens;
    g.output_tokens += r.totals.output_tokens;
    g.total_tokens += r.totals.total_tokens;
    g.cost_usd += r.totals.cost_usd;
    g.llm_calls += r.totals.llm_calls;
  }
  return sortGroups([...groups.values()]);
}

/** Most expensive group first, then by key, so every backend answers in the same order. */
export function sortGroups(groups: UsageGroup[]): UsageGroup[] {
  const byKey = (a: string | null, b: string | null) => ((a ?? '') < (b ?? '') ? -1 : (a ?? '') > (b ?? '') ? 1 : 0);
  return groups.sort((a, b) => b.cost_usd - a.cost_usd || b.runs - a.runs || byKey(a.key, b.key));
}

/** failedRuns over the memory store's runs. */
export function failedRunsIn(all: Iterable<RunRecord>, q: FailedRunsQuery): RunRecord[] {
  const found: { run: RunRecord; at: number }[] = [];
  for (const r of all) {
    const at = lastFailureAt(r);
    if (at === null || (q.since !== undefined && at < q.since)) continue;
    if (q.projects && !q.projects.includes(r.project_key)) continue;
    if (q.project_key && r.project_key !== q.project_key) continue;
    if (q.agent && agentOf(r) !== q.agent) continue;
    found.push({ run: r, at });
  }
  found.sort((a, b) => b.at - a.at || (a.run.run_id < b.run.run_id ? 1 : -1));
  return found.slice(0, q.limit).map((f) => structuredClone(f.run));
}
