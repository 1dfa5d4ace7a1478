import type { RunRecord, RunView } from '../runs/model.js';

/** What the live page shows of one run: the API's view plus what an SRE triages with. */
export interface LiveRun extends RunView {
  /** `meta_json.agent_name`, record_run's agent, else `agent 1a2b3c4d` */
  agent_label: string;
  summary: string | null;
  end_summary: string | null;
  /** the last model the run reported */
  model: string | null;
  /** why a run failed or was interrupted; null for completed and running runs */
  reason: string | null;
  meta: Record<string, unknown> | null;
}

const END_REASONS: Record<string, string> = {
  idle_timeout: 'idle timeout: no call within BRIDGE_RUN_IDLE_TIMEOUT (ended by the reaper)',
  max_duration: 'ran longer than BRIDGE_RUN_MAX_DURATION (ended by the reaper)',
};

function agentLabel(run: RunRecord): string {
  const named = run.meta?.agent_name;
  if (typeof named === 'string' && named.trim()) return named.trim();
  if (run.agent_name) return run.agent_name;
  return run.agent_id ? `agent ${run.agent_id.slice(0, 8)}` : '–';
}

function reasonOf(run: RunRecord): string | null {
  if (run.status === 'failed') {
    if (run.last_error_type && run.last_failure_summary) return `${run.last_error_type}: ${run.last_failure_summary}`;
    return run.last_error_type ?? run.end_summary ?? 'failed (no failure recorded, no summary given)';
  }
  if (run.status === 'interrupted') return END_REASONS[run.end_reason ?? ''] ?? run.end_summary ?? 'interrupted by the agent';
  return null;
}

export function toLiveRun(run: RunRecord, view: RunView): LiveRun {
  return {
    ...view,
    agent_label: agentLabel(run),
    summary: run.summary,
    end_summary: run.end_summary,
    model: run.last_model ?? run.models[run.models.length - 1] ?? null,
    reason: reasonOf(run),
    meta: run.meta,
  };
}
