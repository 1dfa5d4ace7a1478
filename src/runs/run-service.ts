import { randomUUID } from 'node:crypto';
import { BridgeError, runNotFound } from '../errors.js';
import type { RunStore, StoreTx } from '../store/run-store.js';
import { parseTraceparent } from '../telemetry/ids.js';
import { redactOptional, redactText, redactValue } from '../telemetry/redact.js';
import { recordFailureSpan, startRunSpan, totalBelowParts } from '../telemetry/run-spans.js';
import type { SpanRecord } from '../telemetry/span-record.js';
import { usageEvent } from '../telemetry/usage-attributes.js';
import type { ToolArgs, TraceEntry } from '../tools/schemas.js';
import { canSee, type CallContext } from './call-context.js';
import type { MetricEffect, MetricSink } from './effects.js';
import type { RunRecord, RunView, Totals } from './model.js';
import { endRun, type EndRunParts } from './end-run.js';
import { failureRecord } from './failure-record.js';
import { newRunRecord } from './new-run.js';
import { parentOfStart } from './parent-run.js';
import { reapBody, recordRunBody } from './one-step-runs.js';
import { coverUsage } from './llm-coverage.js';
import { keepEvent, keepUsageReport } from './root-events.js';
import { callInTransaction, type CallOptions } from './run-transaction.js';
import { noteFailure, noteUsage } from './run-history.js';
import { descendants } from './run-tree.js';
import { RunViews } from './run-views.js';
import { traceEntrySpans } from './trace-entries.js';
import { addUsage, toBatch, type CostCalculator } from './totals.js';

export type { CallContext } from './call-context.js';

export interface RunServiceOptions {
  /** the store methods the service uses: one transaction per call, and reads for views */
  store: Pick<RunStore, 'transact' | 'getRun' | 'listRuns'>;
  metrics: MetricSink;
  endUsage: 'final' | 'increment';
  captureContent: boolean;
  traceEntries: 'all' | 'errors' | 'none';
  traceUrl?: string;
  pricing?: CostCalculator;
  now?: () => number;
  /** called before a run is started, e.g. to enforce a budget */
  beforeStart?: (project: string) => Promise<void>;
  /** hears how many spans each call committed to the outbox (the relay starts a pass on a full batch) */
  onSpansCommitted?: (count: number) => void;
}

/** The five run tools' semantics (docs/architecture.md#run-semantics), each call one store transaction. */
export class RunService {
  private readonly now: () => number;
  private readonly views: RunViews;
  private readonly endParts: EndRunParts;
  constructor(private readonly options: RunServiceOptions) {
    this.now = options.now ?? Date.now;
    this.views = new RunViews(options.traceUrl);
    const { endUsage, pricing } = options;
    this.endParts = { endUsage, pricing, views: this.views, entrySpans: (...a) => this.entrySpans(...a) };
  }

  private requireProject(ctx: CallContext, project: string): void {
    if (!canSee(ctx, project)) throw new BridgeError('forbidden', `this API key does not cover project "${project}"`);
  }

  traceUrlOf(traceId: string): string | undefined {
    return this.views.traceUrlOf(traceId);
  }

  private call<R extends object>(options: CallOptions<R>): Promise<R & { duplicate?: true }> {
    const { store, metrics, onSpansCommitted } = this.options;
    return callInTransaction({ store, metrics, now: this.now, onSpansCommitted }, options);
  }

  private async getVisible(tx: StoreTx, runId: string, ctx: CallContext): Promise<RunRecord> {
    const run = await tx.getRun(runId);
    if (!run || !canSee(ctx, run.project_key)) throw runNotFound(runId);
    return run;
  }

  async startRun(args: ToolArgs<'core_start_run'>, ctx: CallContext) {
    this.requireProject(ctx, args.project_key);
    const runId = args.run_id ?? randomUUID();
    const scope = args.run_id ?? `project:${args.project_key}`;
    const lockKey = args.run_id ?? (ctx.idempotencyKey ? `idem:${args.project_key}:${ctx.idempotencyKey}` : runId);
    if (this.options.beforeStart) await this.options.beforeStart(args.project_key);
    return this.call({
      tool: 'core_start_run',
      lockKey,
      scope,
      ctx,
      request: args,
      apply: async (tx, now) => {
        const existing = await tx.getRun(runId);
        if (existing && existing.project_key !== args.project_key) throw runNotFound(runId);
        if (existing && !existing.implicit) return { result: this.views.startResult(existing), spans: [], effects: [] };

        const meta = args.meta_json ? redactValue(args.meta_json) : null;
        const { traceparent, parentRunId } = await parentOfStart(tx, runId, args.project_key, meta, ctx);
        const effects: MetricEffect[] = [];
        let run: RunRecord;
        if (existing) {
          // a failure came first: the trace identity is fixed; a late parent becomes a link
          run = existing;
          run.implicit = false;
          run.agent_id = args.agent_id;
          if (traceparent) {
            run.links.push({
              trace_id: traceparent.trace_id,
              span_id: traceparent.span_id,
              attributes: { 'oprelay.link.reason': 'late_parent' },
            });
            run.parent_run_id = parentRunId ?? run.parent_run_id;
          }
        } else {
          run = newRunRecord(runId, args.project_key, args.agent_id, now, traceparent);
          run.parent_run_id = parentRunId;
          effects.push({ kind: 'run_started', project: run.project_key });
        }
        run.summary = redactOptional(args.summary);
        run.meta = meta;
        if (typeof meta?.session_id === 'string' && meta.session_id) run.session_id = meta.session_id.slice(0, 256);
        run.last_activity_at = now;
        return { result: this.views.startResult(run), spans: [startRunSpan(run, now)], effects, run };
      },
      guard: async (tx) => {
        const existing = await tx.getRun(runId);
        if (existing && existing.project_key !== args.project_key) throw runNotFound(runId);
      },
    });
  }

  private entrySpans(run: RunRecord, entries: TraceEntry[] | undefined, now: number, costReported: boolean): SpanRecord[] {
    return traceEntrySpans(run, entries, now, this.options, { costReported });
  }

  async reportUsage(args: ToolArgs<'core_report_usage'>, ctx: CallContext) {
    const keyed =
      args.idempotency_key !== undefined ? { idempotencyKey: args.idempotency_key, idempotencyKeyName: 'idempotency_key' as const } : {};
    const callContext = { ...ctx, ...keyed };
    return this.call({
      tool: 'core_report_usage',
      lockKey: args.run_id,
      scope: args.run_id,
      ctx: callContext,
      request: args,
      apply: async (tx, now) => {
        const run = await this.getVisible(tx, args.run_id, ctx);
        if (run.status !== 'running')
          throw new BridgeError('run_ended', `run ${run.run_id} has ended (${run.status}); usage can no longer be reported`);
        const batch = toBatch(args.token_usage, this.options.pricing);
        if (totalBelowParts(args.token_usage)) run.total_mismatch = true;
        const effects: MetricEffect[] = [];
        const effect = addUsage(run, batch);
        if (effect) effects.push(effect);
        await noteUsage(tx, run, now, 'report', batch.model ?? null, batch.totals);
        const promptPreview =
          args.token_usage.prompt_preview && this.options.captureContent ? redactText(args.token_usage.prompt_preview) : undefined;
        await keepUsageReport(tx, run, () => usageEvent(batch, now, { promptPreview, idempotencyKey: args.idempotency_key }));
        const spans = this.entrySpans(run, args.traces, now, batch.costSource === 'reported');
        coverUsage(run, spans, { source: 'usage_report', start: run.last_activity_at, end: now });
        run.last_activity_at = now;
        return { result: { run_id: run.run_id, totals: run.totals }, spans, effects, run };
      },
      guard: async (tx) => void (await this.getVisible(tx, args.run_id, ctx)),
    });
  }

  async endRun(args: ToolArgs<'core_end_run'>, ctx: CallContext) {
    return this.call({
      tool: 'core_end_run',
      lockKey: args.run_id,
      scope: args.run_id,
      ctx,
      request: args,
      apply: async (tx, now) => endRun(tx, await this.getVisible(tx, args.run_id, ctx), args, now, this.endParts),
      guard: async (tx) => void (await this.getVisible(tx, args.run_id, ctx)),
    });
  }

  async recordFailure(args: ToolArgs<'core_record_failure'>, ctx: CallContext) {
    this.requireProject(ctx, args.project_key);
    return this.call({
      tool: 'core_record_failure',
      lockKey: args.run_id,
      scope: args.run_id,
      ctx,
      request: args,
      apply: async (tx, now) => {
        let run = await tx.getRun(args.run_id);
        const effects: MetricEffect[] = [];
        if (run && (run.project_key !== args.project_key || !canSee(ctx, run.project_key))) throw runNotFound(args.run_id);
        if (!run) {
          // nothing is lost: the run's trace exists from this failure on
          run = newRunRecord(args.run_id, args.project_key, args.agent_id, now, parseTraceparent(ctx.traceparent));
          run.implicit = true;
          effects.push({ kind: 'run_started', project: run.project_key });
        }
        const { failureId, errorType, event, entry } = failureRecord(args, this.options.captureContent, now);
        const spans: SpanRecord[] = [];
        if (run.root_exported) spans.push(recordFailureSpan(run, event));
        else await keepEvent(tx, run, event);
        noteFailure(run, entry);
        if (run.status === 'running') run.last_activity_at = now;
        effects.push({ kind: 'failure', project: run.project_key, errorType });
        return { result: { failure_id: failureId, run_id: run.run_id, trace_id: run.trace_id }, spans, effects, run };
      },
      guard: async (tx) => {
        const run = await tx.getRun(args.run_id);
        if (run && (run.project_key !== args.project_key || !canSee(ctx, run.project_key))) throw runNotFound(args.run_id);
      },
    });
  }

  async recordRun(args: ToolArgs<'record_run'>, ctx: CallContext) {
    this.requireProject(ctx, args.project_key);
    const runId = randomUUID();
    const lockKey = ctx.idempotencyKey ? `idem:${args.project_key}:${ctx.idempotencyKey}` : runId;
    return this.call({
      tool: 'record_run',
      lockKey,
      scope: `project:${args.project_key}`,
      ctx,
      request: args,
      apply: recordRunBody(runId, args),
    });
  }

  /** Ends one stale run as interrupted (the reaper); false when it is no longer stale. */
  async reap(runId: string, idleBefore: number, startedBefore: number): Promise<boolean> {
    let reaped = false;
    const apply = reapBody(runId, idleBefore, startedBefore, () => (reaped = true));
    await this.call({ tool: 'reaper', lockKey: runId, scope: undefined, ctx: {}, request: {}, apply });
    return reaped;
  }

  async getRun(runId: string, ctx: CallContext): Promise<RunView> {
    const run = await this.options.store.getRun(runId);
    if (!run || !canSee(ctx, run.project_key)) throw runNotFound(runId);
    return this.view(run);
  }

  /** Child run ids and the totals of the run with all its descendants (sub-agent runs). */
  descendants(run: RunView, ctx: CallContext): Promise<{ children: string[]; totals_with_children: Totals }> {
    const projects = ctx.projects && !ctx.projects.includes('*') ? [...ctx.projects] : undefined;
    return descendants(this.options.store, run, projects);
  }

  view(run: RunRecord): RunView {
    return this.views.view(run);
  }
}
