import { BridgeError } from '../errors.js';
import type { StoreTx } from '../store/run-store.js';
import { ATTR } from '../telemetry/attributes.js';
import { redactOptional, redactValue } from '../telemetry/redact.js';
import { rootSpan } from '../telemetry/root-span.js';
import { lateEndSpan, totalBelowParts } from '../telemetry/run-spans.js';
import type { SpanRecord } from '../telemetry/span-record.js';
import type { ToolArgs, TraceEntry } from '../tools/schemas.js';
import { runEndedEffect, type MetricEffect } from './effects.js';
import { coverUsage } from './llm-coverage.js';
import type { RunRecord } from './model.js';
import { noteUsage } from './run-history.js';
import type { Outcome } from './run-transaction.js';
import type { RunViews } from './run-views.js';
import { addExtra, addTotals, applyFinal, isZero, noteBatch, positiveDiff, toBatch, type CostCalculator } from './totals.js';

/** What ending a run needs from the run service. */
export interface EndRunParts {
  endUsage: 'final' | 'increment';
  pricing?: CostCalculator;
  views: RunViews;
  entrySpans: (run: RunRecord, entries: TraceEntry[] | undefined, now: number, costReported: boolean) => SpanRecord[];
}

type EndResult = ReturnType<RunViews['endResult']> & { already_ended?: true; reaped?: true };

/**
 * `core_end_run` on the run it names (docs/architecture.md#run-semantics): final usage, trace
 * entries, then the root span; a repeat with the same status answers already_ended, and an end
 * after the reaper ended the run still counts its usage, on a late-end span.
 */
export async function endRun(
  tx: StoreTx,
  run: RunRecord,
  args: ToolArgs<'core_end_run'>,
  now: number,
  parts: EndRunParts,
): Promise<Outcome<EndResult>> {
  const reaped = run.status === 'interrupted' && (run.end_reason === 'idle_timeout' || run.end_reason === 'max_duration');
  if (run.status !== 'running' && !reaped) {
    if (run.status !== args.status)
      throw new BridgeError('run_already_ended', `run ${run.run_id} already ended with status ${run.status}, not ${args.status}`);
    return { result: { ...parts.views.endResult(run), already_ended: true }, spans: [], effects: [] };
  }
  const before = run.totals;
  const effects: MetricEffect[] = [];
  const spans = parts.entrySpans(run, args.traces, now, args.token_usage?.cost_usd !== undefined);
  if (args.token_usage) {
    const batch = toBatch(args.token_usage, parts.pricing);
    if (totalBelowParts(args.token_usage)) run.total_mismatch = true;
    if (parts.endUsage === 'increment') run.totals = addTotals(run.totals, batch.totals);
    else {
      const { totals, mismatch } = applyFinal(run.totals, batch.totals, args.token_usage);
      run.totals = totals;
      run.final_mismatch = run.final_mismatch || mismatch;
    }
    run.extra = addExtra(run.extra, batch.extra);
    noteBatch(run, batch);
    await noteUsage(tx, run, now, 'final', batch.model ?? null, batch.totals);
    const diff = positiveDiff(run.totals, before);
    if (!isZero(diff))
      effects.push({
        kind: 'usage',
        project: run.project_key,
        runStartedAt: run.started_at,
        model: args.token_usage.model ?? run.last_model ?? '',
        delta: diff,
      });
  }
  coverUsage(run, spans, { source: 'run_totals', start: reaped ? now : run.last_activity_at, end: now });
  const summary = redactOptional(args.summary);
  if (reaped) {
    const late = lateEndSpan(run, args.status, summary ?? undefined, now);
    const diff = positiveDiff(run.totals, before);
    late.attributes[ATTR.lateEndInputTokens] = diff.input_tokens;
    late.attributes[ATTR.lateEndOutputTokens] = diff.output_tokens;
    late.attributes[ATTR.traceCostUsd] = diff.cost_usd;
    spans.push(late);
    return { result: { ...parts.views.endResult(run), already_ended: true, reaped: true }, spans, effects, run };
  }
  run.status = args.status;
  run.end_reason = 'agent';
  run.ended_at = now;
  run.last_activity_at = now;
  run.end_summary = summary;
  if (args.meta_json) run.meta = { ...(run.meta ?? {}), ...redactValue(args.meta_json) };
  spans.push(rootSpan(run, await tx.takeEvents(run.run_id)));
  run.root_exported = true;
  effects.push(runEndedEffect(run));
  return { result: parts.views.endResult(run), spans, effects, run };
}
