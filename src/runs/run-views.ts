import { formatTraceparent } from '../telemetry/ids.js';
import type { RunRecord, RunView } from './model.js';

/** What callers see of a run: the API view and the tools' results, with the trace link filled in. */
export class RunViews {
  /** @param traceUrl a link template with `{trace_id}`, e.g. a Jaeger URL */
  constructor(private readonly traceUrl: string | undefined) {}

  traceUrlOf(traceId: string): string | undefined {
    return this.traceUrl?.replace('{trace_id}', traceId);
  }

  startResult(run: RunRecord) {
    const url = this.traceUrlOf(run.trace_id);
    return {
      run_id: run.run_id,
      trace_id: run.trace_id,
      traceparent: formatTraceparent(run.trace_id, run.root_span_id, run.trace_flags),
      ...(url ? { trace_url: url } : {}),
    };
  }

  endResult(run: RunRecord) {
    const url = this.traceUrlOf(run.trace_id);
    return { run_id: run.run_id, status: run.status, totals: run.totals, trace_id: run.trace_id, ...(url ? { trace_url: url } : {}) };
  }

  view(run: RunRecord): RunView {
    const url = this.traceUrlOf(run.trace_id);
    return {
      run_id: run.run_id,
      project_key: run.project_key,
      agent_id: run.agent_id,
      status: run.status,
      started_at: new Date(run.started_at).toISOString(),
      ended_at: run.ended_at === null ? null : new Date(run.ended_at).toISOString(),
      totals: run.totals,
      models: run.models,
      failures: run.failures,
      trace_id: run.trace_id,
      ...(url ? { trace_url: url } : {}),
      parent_run_id: run.parent_run_id,
      session_id: run.session_id,
      end_reason: run.end_reason,
    };
  }
}
