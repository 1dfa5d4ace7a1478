import type { RunEndStatus } from '../tools/schemas.js';
import type { SpanLinkRecord } from '../telemetry/span-record.js';

export type RunStatus = 'running' | RunEndStatus;
export type EndReason = 'agent' | 'idle_timeout' | 'max_duration';
export type CostSource = 'reported' | 'computed' | 'mixed' | 'unknown';

export interface Totals {
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  cost_usd: number;
  llm_calls: number;
}

export interface ExtraTokens {
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
  reasoning_output_tokens: number;
}

/** Tokens and cost carried by a run's LLM-kind spans. */
export interface CarriedUsage extends ExtraTokens {
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
}

export const zeroTotals = (): Totals => ({ input_tokens: 0, output_tokens: 0, total_tokens: 0, cost_usd: 0, llm_calls: 0 });
export const zeroExtra = (): ExtraTokens => ({ cache_read_input_tokens: 0, cache_creation_input_tokens: 0, reasoning_output_tokens: 0 });
export const zeroCarried = (): CarriedUsage => ({ input_tokens: 0, output_tokens: 0, cost_usd: 0, ...zeroExtra() });

/** The whole state of one run, stored as one document (plus indexed columns). */
export interface RunRecord {
  run_id: string;
  project_key: string;
  agent_id: string | null;
  /** record_run's free-text agent name */
  agent_name: string | null;
  status: RunStatus;
  end_reason: EndReason | null;
  /** epoch ms */
  started_at: number;
  ended_at: number | null;
  last_activity_at: number;
  trace_id: string;
  root_span_id: string;
  /** span the root span hangs under (caller's traceparent or parent run's root) */
  parent_span_id: string | null;
  parent_run_id: string | null;
  session_id: string | null;
  trace_flags: number;
  summary: string | null;
  end_summary: string | null;
  meta: Record<string, unknown> | null;
  totals: Totals;
  extra: ExtraTokens;
  models: string[];
  last_model: string | null;
  provider: string | null;
  cost_sources: CostSource[];
  failures: number;
  last_error_type: string | null;
  /** the last failure's summary (redacted), for the live page; absent on runs stored before it existed */
  last_failure_summary?: string | null;
  /** root-span events stored so far (they live in the store's event list until the root is exported) */
  events_kept: number;
  reports: number;
  reports_dropped: number;
  events_dropped: number;
  links: SpanLinkRecord[];
  final_mismatch: boolean;
  /** what the run's LLM-kind spans carry so far (docs/architecture.md#tokens-and-cost); absent on runs stored before it existed */
  carried?: CarriedUsage;
  /** the LLM spans carry more than the totals in some field (trace entries above the usage reported) */
  spans_above_totals?: boolean;
  /** a token_usage whose total_tokens was below its input + output (kept as reported, flagged) */
  total_mismatch?: boolean;
  root_exported: boolean;
  /** created by a failure before any start */
  implicit: boolean;
  /** the run's failures, newest last (the last MAX_KEPT_FAILURES); absent on runs stored before it existed */
  failure_log?: FailureEntry[];
  /** how many of the run's usage reports its store's usage timeline holds (the first MAX_KEPT_USAGE) */
  usage_logged?: number;
}

/** One core_record_failure as the run keeps it (texts redacted; error only when content is captured). */
export interface FailureEntry {
  failure_id: string;
  /** epoch ms */
  at: number;
  error_type: string;
  summary: string;
  error: string | null;
  task_id: string | null;
}

/** One usage report (or the end call's final usage) as the run keeps it. */
export interface UsageEntry {
  /** epoch ms */
  at: number;
  kind: 'report' | 'final';
  model: string | null;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  cost_usd: number;
  llm_calls: number;
}

export interface RunView {
  run_id: string;
  project_key: string;
  agent_id: string | null;
  status: RunStatus;
  started_at: string;
  ended_at: string | null;
  totals: Totals;
  models: string[];
  failures: number;
  trace_id: string;
  trace_url?: string;
  parent_run_id?: string | null;
  session_id?: string | null;
  end_reason?: EndReason | null;
}
