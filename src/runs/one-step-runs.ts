import type { StoreTx } from '../store/run-store.js';
import { redactText, redactValue } from '../telemetry/redact.js';
import { recordRunSpan, rootSpan } from '../telemetry/root-span.js';
import type { ToolArgs } from '../tools/schemas.js';
import { runEndedEffect, type MetricEffect } from './effects.js';
import { newRunRecord } from './new-run.js';
import type { Outcome } from './run-transaction.js';

/**
 * The two calls that open or close a run in one step, as transaction bodies for the run service:
 * the v1 `record_run` (a complete run and its one-span trace) and the reaper's end of a stale run.
 */

export function recordRunBody(runId: string, args: ToolArgs<'record_run'>) {
  return async (_tx: StoreTx, now: number): Promise<Outcome<{ run_id: string; trace_id: string }>> => {
    const run = newRunRecord(runId, args.project_key, null, now);
    run.agent_name = args.agent;
    run.summary = redactText(args.summary);
    run.meta = args.meta_json ? redactValue(args.meta_json) : null;
    run.status = 'completed';
    run.end_reason = 'agent';
    run.ended_at = now;
    run.root_exported = true;
    const effects: MetricEffect[] = [{ kind: 'run_started', project: run.project_key }, runEndedEffect(run)];
    return { result: { run_id: run.run_id, trace_id: run.trace_id }, spans: [recordRunSpan(run, args.ticket)], effects, run };
  };
}

/** Ends the run as interrupted when it is still running and idle or too old; `onReaped` hears when it did. */
export function reapBody(runId: string, idleBefore: number, startedBefore: number, onReaped: () => void) {
  return async (tx: StoreTx, now: number): Promise<Outcome<object>> => {
    const run = await tx.getRun(runId);
    if (!run || run.status !== 'running') return { result: {}, spans: [], effects: [] };
    const idle = run.last_activity_at < idleBefore;
    const tooOld = run.started_at < startedBefore;
    if (!idle && !tooOld) return { result: {}, spans: [], effects: [] };
    run.status = 'interrupted';
    run.end_reason = idle ? 'idle_timeout' : 'max_duration';
    // an idle run ends at its last activity, not at reap time
    run.ended_at = idle ? run.last_activity_at : now;
    const spans = [rootSpan(run, await tx.takeEvents(run.run_id))];
    run.root_exported = true;
    onReaped();
    return { result: {}, spans, effects: [runEndedEffect(run)], run };
  };
}
