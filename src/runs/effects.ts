import type { RunRecord, Totals } from './model.js';

/** Metric increments a committed tool call produces; applied only after the transaction commits. */
export type MetricEffect =
  | { kind: 'run_started'; project: string }
  | { kind: 'run_ended'; project: string; status: string; reason: string; durationS: number }
  | { kind: 'usage'; project: string; runStartedAt: number; model: string; delta: Totals }
  | { kind: 'failure'; project: string; errorType: string }
  | GenAiOperationEffect;

/** One exported `chat`, `execute_tool` or `invoke_agent` span, for the GenAI conventions' metrics (src/runs/genai-effects.ts). */
export interface GenAiOperationEffect {
  kind: 'genai_operation';
  project: string;
  operation: 'chat' | 'execute_tool' | 'invoke_agent';
  durationS: number;
  /** a span the bridge made for usage no entry covers: its tokens count, its duration is no operation's */
  uncovered: boolean;
  model?: string;
  provider?: string;
  tool?: string;
  agentName?: string;
  errorType?: string;
  inputTokens?: number;
  outputTokens?: number;
}

export interface MetricSink {
  apply(effects: MetricEffect[]): void;
}

export const noMetrics: MetricSink = { apply: () => undefined };

/** One sink feeding several (the metrics, and the budgets' cached spent figures). */
export function allSinks(...sinks: MetricSink[]): MetricSink {
  return { apply: (effects) => sinks.forEach((s) => s.apply(effects)) };
}

/** The run_ended effect of a run that just ended (by the agent, record_run or the reaper). */
export function runEndedEffect(run: RunRecord): MetricEffect {
  return {
    kind: 'run_ended',
    project: run.project_key,
    status: run.status,
    reason: run.end_reason ?? 'agent',
    durationS: Math.max(0, ((run.ended_at ?? run.last_activity_at) - run.started_at) / 1000),
  };
}
