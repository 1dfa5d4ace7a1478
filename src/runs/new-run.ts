import { rootSpanIdOf, traceIdOf, type TraceParent } from '../telemetry/ids.js';
import { zeroCarried, zeroExtra, zeroTotals, type RunRecord } from './model.js';

/** A fresh running run: trace identity from the run_id, or from the caller's traceparent. */
export function newRunRecord(runId: string, project: string, agentId: string | null, now: number, tp?: TraceParent): RunRecord {
  return {
    run_id: runId,
    project_key: project,
    agent_id: agentId,
    agent_name: null,
    status: 'running',
    end_reason: null,
    started_at: now,
    ended_at: null,
    last_activity_at: now,
    trace_id: tp?.trace_id ?? traceIdOf(runId),
    root_span_id: rootSpanIdOf(runId),
    parent_span_id: tp?.span_id ?? null,
    parent_run_id: null,
    session_id: null,
    trace_flags: tp ? tp.trace_flags | 1 : 1,
    summary: null,
    end_summary: null,
    meta: null,
    totals: zeroTotals(),
    extra: zeroExtra(),
    carried: zeroCarried(),
    models: [],
    last_model: null,
    provider: null,
    cost_sources: [],
    failures: 0,
    last_error_type: null,
    events_kept: 0,
    reports: 0,
    reports_dropped: 0,
    events_dropped: 0,
    links: [],
    final_mismatch: false,
    root_exported: false,
    implicit: false,
  };
}
