import type { RunRecord } from '../runs/model.js';

/** Values of a run the SQL stores keep in their own columns, for usage summaries and failure listings. */

/** When the run's last failure was recorded, or null: the recent_failures index reads it. */
export function lastFailureAt(run: RunRecord): number | null {
  return run.failure_log?.[run.failure_log.length - 1]?.at ?? null;
}

/** The name an SRE knows the agent by: meta_json.agent_name, record_run's agent, else its id. */
export function agentOf(run: RunRecord): string | null {
  const named = run.meta?.agent_name;
  if (typeof named === 'string' && named.trim()) return named.trim();
  return run.agent_name ?? run.agent_id;
}

/** The model a run is counted under in usage summaries: its last reported model. */
export function modelOf(run: RunRecord): string | null {
  return run.last_model ?? run.models[run.models.length - 1] ?? null;
}
