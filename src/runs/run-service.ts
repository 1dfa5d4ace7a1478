import { randomUUID } from 'node:crypto';
import { hashRequest } from './request-hash.js';
import { BridgeError, runNotFound } from '../errors.js';
import type { RunStore, StoreTx } from '../store/run-store.js';
import { ATTR, EVENT } from '../telemetry/attributes.js';
import { formatTraceparent, parseTraceparent } from '../telemetry/ids.js';
import { redactText, redactValue } from '../telemetry/redact.js';
import { rootSpan, recordRunSpan } from '../telemetry/root-span.js';
import {
  errorTypeOf,
  failureEvent,
  lateEndSpan,
  recordFailureSpan,
  startRunSpan,
  totalBelowParts,
} from '../telemetry/run-spans.js';
import type { Attributes, SpanRecord, StoredEvent } from '../telemetry/span-record.js';
import type { ToolArgs, TokenUsage, TraceEntry } from '../tools/schemas.js';
import type { MetricEffect, MetricSink } from './effects.js';
import type { RunRecord, RunView, Totals } from './model.js';
import { newRunRecord } from './new-run.js';
import { traceEntrySpans } from './trace-entries.js';
import { addExtra, addTotals, applyFinal, isZero, positiveDiff, toBatch, type CostCalculator, type UsageBatch } from './totals.js';

export const MAX_KEPT_REPORTS = 100;
export const MAX_ROOT_EVENTS = 128;
/** How long an Idempotency-Key's first answer is kept. */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;

/** A key seen before with other arguments: answering the first call's result would lose the new data. */
function keyReused(tool: string, ctx: CallContext): BridgeError {
  const name = ctx.idempotencyKeyName ?? 'Idempotency-Key';
  const message = `${name} "${ctx.idempotencyKey}" was already used for another ${tool} request in the last 24 h; send new data under a new key`;
  return new BridgeError('idempotency_key_reused', message, [{ path: name, message }]);
}

/** Who is calling: the projects their key covers (undefined = all) and transport metadata. */
export interface CallContext {
  projects?: readonly string[];
  /** a read-only key: the gateway refuses every tool call */
  readOnly?: boolean;
  traceparent?: string;
  idempotencyKey?: string;
  /** where the key came from, for errors: the header (default) or core_report_usage's idempotency_key */
  idempotencyKeyName?: 'Idempotency-Key' | 'idempotency_key';
}

export interface RunServiceOptions {
  store: RunStore;
  metrics: MetricSink;
  endUsage: 'final' | 'increment';
  captureContent: boolean;
  traceEntries: 'all' | 'errors' | 'none';
  traceUrl?: string;
  pricing?: CostCalculator;
  now?: () => number;
  /** called before a run is started, e.g. to enforce a budget */
  beforeStart?: (project: string) => Promise<void>;
}

type Outcome<R> = { result: R; spans: SpanRecord[]; effects: MetricEffect[]; run?: RunRecord };

/** The five run tools' semantics (docs/architecture.md#run-semantics), each call one store transaction. */
export class RunService {
  private readonly now: () => number;
  constructor(private readonly o: RunServiceOptions) {
    this.now = o.now ?? Date.now;
  }

  private canSee(ctx: CallContext, project: string): boolean {
    return !ctx.projects || ctx.projects.includes('*') || ctx.projects.includes(project);
  }

  private requireProject(ctx: CallContext, project: string): void {
    if (!this.canSee(ctx, project)) throw new BridgeError('forbidden', `this API key does not cover project "${project}"`);
  }

  traceUrlOf(traceId: string): string | undefined {
    return this.o.traceUrl?.replace('{trace_id}', traceId);
  }

  /** One transaction: idempotency look-up, the state change, its spans; effects applied after commit. */
  private async call<R extends object>(
    tool: string,
    lockKey: string,
    scope: string | undefined,
    ctx: CallContext,
    /** the validated arguments: a repeated key must come with the same ones */
    request: object,
    fn: (tx: StoreTx, now: number) => Promise<Outcome<R>>,
    /** visibility check run before the idempotency look-up, so a repeat never answers another project's caller */
    guard?: (tx: StoreTx) => Promise<void>,
  ): Promise<R & { duplicate?: true }> {
    const idemScope = ctx.idempotencyKey ? `${tool}:${scope}:${ctx.idempotencyKey}` : undefined;
    const requestHash = idemScope ? hashRequest(request) : null;
    const out = await this.o.store.transact(lockKey, async (tx) => {
      const now = this.now();
      if (guard) await guard(tx);
      if (idemScope) {
        const seen = await tx.getIdempotent(idemScope, now - IDEMPOTENCY_TTL_MS);
        if (seen !== undefined) {
          if (seen.request_hash !== null && seen.request_hash !== requestHash) throw keyReused(tool, ctx);
          return { result: { ...(seen.response as R), duplicate: true as const }, spans: [], effects: [] };
        }
      }
      const outcome = await fn(tx, now);
      if (outcome.run) await tx.saveRun(outcome.run);
      if (outcome.spans.length) await tx.enqueue(outcome.spans, now);
      if (idemScope) await tx.putIdempotent(idemScope, { response: outcome.result, request_hash: requestHash }, now);
      return outcome;
    });
    if (out.effects.length) this.o.metrics.apply(out.effects);
    return out.result as R & { duplicate?: true };
  }

  private text(s: string | undefined): string | null {
    return s === undefined ? null : redactText(s);
  }

  private async getVisible(tx: StoreTx, runId: string, ctx: CallContext): Promise<RunRecord> {
    const run = await tx.getRun(runId);
    if (!run || !this.canSee(ctx, run.project_key)) throw runNotFound(runId);
    return run;
  }

  async startRun(args: ToolArgs<'core_start_run'>, ctx: CallContext) {
    this.requireProject(ctx, args.project_key);
    const runId = args.run_id ?? randomUUID();
    const scope = args.run_id ?? `project:${args.project_key}`;
    const lockKey = args.run_id ?? (ctx.idempotencyKey ? `idem:${args.project_key}:${ctx.idempotencyKey}` : runId);
    if (this.o.beforeStart) await this.o.beforeStart(args.project_key);
    return this.call('core_start_run', lockKey, scope, ctx, args, async (tx, now) => {
      const existing = await tx.getRun(runId);
      if (existing && existing.project_key !== args.project_key) throw runNotFound(runId);
      if (existing && !existing.implicit) return { result: this.startResult(existing), spans: [], effects: [] };

      const meta = args.meta_json ? redactValue(args.meta_json) : null;
      let tp = parseTraceparent(ctx.traceparent);
      let parentRunId: string | null = null;
      const parentRef = typeof meta?.parent_run_id === 'string' ? meta.parent_run_id.toLowerCase() : undefined;
      if (parentRef === runId) {
        const message = 'meta_json.parent_run_id: a run cannot be its own parent';
        throw new BridgeError('invalid_argument', message, [{ path: 'meta_json.parent_run_id', message }]);
      }
      if (parentRef) {
        const parent = await tx.getRun(parentRef);
        if (!parent || parent.project_key !== args.project_key || !this.canSee(ctx, parent.project_key))
          throw new BridgeError('run_not_found', `meta_json.parent_run_id: run ${parentRef} not found`);
        parentRunId = parent.run_id;
        tp = { trace_id: parent.trace_id, span_id: parent.root_span_id, trace_flags: parent.trace_flags };
      }
      const effects: MetricEffect[] = [];
      let run: RunRecord;
      if (existing) {
        // a failure came first: the trace identity is fixed; a late parent becomes a link
        run = existing;
        run.implicit = false;
        run.agent_id = args.agent_id;
        if (tp) {
          run.links.push({ trace_id: tp.trace_id, span_id: tp.span_id, attributes: { 'oprelay.link.reason': 'late_parent' } });
          run.parent_run_id = parentRunId ?? run.parent_run_id;
        }
      } else {
        run = newRunRecord(runId, args.project_key, args.agent_id, now, tp);
        run.parent_run_id = parentRunId;
        effects.push({ kind: 'run_started', project: run.project_key });
      }
      run.summary = this.text(args.summary);
      run.meta = meta;
      if (typeof meta?.session_id === 'string' && meta.session_id) run.session_id = meta.session_id.slice(0, 256);
      run.last_activity_at = now;
      return { result: this.startResult(run), spans: [startRunSpan(run, now)], effects, run };
    }, async (tx) => {
      const existing = await tx.getRun(runId);
      if (existing && existing.project_key !== args.project_key) throw runNotFound(runId);
    });
  }

  private startResult(run: RunRecord) {
    const url = this.traceUrlOf(run.trace_id);
    return {
      run_id: run.run_id,
      trace_id: run.trace_id,
      traceparent: formatTraceparent(run.trace_id, run.root_span_id, run.trace_flags),
      ...(url ? { trace_url: url } : {}),
    };
  }

  /** Applies one usage batch to the run: totals, models, cost sources; returns the metric effect. */
  private addUsage(run: RunRecord, batch: UsageBatch): MetricEffect | undefined {
    run.totals = addTotals(run.totals, batch.totals);
    run.extra = addExtra(run.extra, batch.extra);
    this.noteBatch(run, batch);
    if (isZero(batch.totals)) return undefined;
    return { kind: 'usage', project: run.project_key, runStartedAt: run.started_at, model: batch.model ?? run.last_model ?? '', delta: batch.totals };
  }

  private noteBatch(run: RunRecord, batch: UsageBatch): void {
    if (batch.model) {
      run.last_model = batch.model;
      if (!run.models.includes(batch.model)) run.models.push(batch.model);
    }
    if (batch.provider) run.provider = batch.provider;
    if (batch.costSource && !run.cost_sources.includes(batch.costSource)) run.cost_sources.push(batch.costSource);
  }

  private entrySpans(run: RunRecord, entries: TraceEntry[] | undefined, now: number): SpanRecord[] {
    return traceEntrySpans(run, entries, now, this.o);
  }

  /** Keeps an event for the root span, or counts it as dropped past the cap. */
  private async keepEvent(tx: StoreTx, run: RunRecord, event: StoredEvent): Promise<void> {
    if (run.events_kept >= MAX_ROOT_EVENTS) {
      run.events_dropped += 1;
      return;
    }
    await tx.appendEvent(run.run_id, run.events_kept, event);
    run.events_kept += 1;
  }

  private async usageEvent(tx: StoreTx, run: RunRecord, usage: TokenUsage, batch: UsageBatch, now: number, idemKey?: string): Promise<void> {
    run.reports += 1;
    if (run.reports > MAX_KEPT_REPORTS || run.events_kept >= MAX_ROOT_EVENTS) {
      run.reports_dropped += 1;
      return;
    }
    const a: Attributes = {
      [ATTR.genAiUsageInputTokens]: batch.totals.input_tokens,
      [ATTR.genAiUsageOutputTokens]: batch.totals.output_tokens,
      [ATTR.usageTotalTokens]: batch.totals.total_tokens,
      [ATTR.usageCostUsd]: batch.totals.cost_usd,
      [ATTR.usageLlmCalls]: batch.totals.llm_calls,
    };
    if (batch.extra.cache_read_input_tokens) a[ATTR.genAiUsageCacheReadInputTokens] = batch.extra.cache_read_input_tokens;
    if (batch.extra.cache_creation_input_tokens) a[ATTR.genAiUsageCacheCreationInputTokens] = batch.extra.cache_creation_input_tokens;
    if (batch.extra.reasoning_output_tokens) a[ATTR.genAiUsageReasoningOutputTokens] = batch.extra.reasoning_output_tokens;
    if (batch.model) a[ATTR.genAiRequestModel] = batch.model;
    if (batch.provider) a[ATTR.genAiProviderName] = batch.provider;
    if (batch.costSource) a[ATTR.usageCostSource] = batch.costSource;
    if (usage.prompt_preview && this.o.captureContent) a[ATTR.usagePromptPreview] = redactText(usage.prompt_preview);
    if (idemKey) a[ATTR.usageIdempotencyKey] = idemKey;
    await this.keepEvent(tx, run, { name: EVENT.usageReport, time: now, attributes: a });
  }

  async reportUsage(args: ToolArgs<'core_report_usage'>, ctx: CallContext) {
    const keyed = args.idempotency_key !== undefined ? { idempotencyKey: args.idempotency_key, idempotencyKeyName: 'idempotency_key' as const } : {};
    return this.call('core_report_usage', args.run_id, args.run_id, { ...ctx, ...keyed }, args, async (tx, now) => {
      const run = await this.getVisible(tx, args.run_id, ctx);
      if (run.status !== 'running') throw new BridgeError('run_ended', `run ${run.run_id} has ended (${run.status}); usage can no longer be reported`);
      const batch = toBatch(args.token_usage, this.o.pricing);
      if (totalBelowParts(args.token_usage)) run.total_mismatch = true;
      const effects: MetricEffect[] = [];
      const effect = this.addUsage(run, batch);
      if (effect) effects.push(effect);
      await this.usageEvent(tx, run, args.token_usage, batch, now, args.idempotency_key);
      run.last_activity_at = now;
      const spans = this.entrySpans(run, args.traces, now);
      return { result: { run_id: run.run_id, totals: run.totals }, spans, effects, run };
    }, async (tx) => void (await this.getVisible(tx, args.run_id, ctx)));
  }

  async endRun(args: ToolArgs<'core_end_run'>, ctx: CallContext) {
    return this.call('core_end_run', args.run_id, args.run_id, ctx, args, async (tx, now) => {
      const run = await this.getVisible(tx, args.run_id, ctx);
      const reaped = run.status === 'interrupted' && (run.end_reason === 'idle_timeout' || run.end_reason === 'max_duration');
      if (run.status !== 'running' && !reaped) {
        if (run.status !== args.status)
          throw new BridgeError('run_already_ended', `run ${run.run_id} already ended with status ${run.status}, not ${args.status}`);
        return { result: { ...this.endResult(run), already_ended: true }, spans: [], effects: [] };
      }
      const before = run.totals;
      const effects: MetricEffect[] = [];
      const spans = this.entrySpans(run, args.traces, now);
      if (args.token_usage) {
        const batch = toBatch(args.token_usage, this.o.pricing);
        if (totalBelowParts(args.token_usage)) run.total_mismatch = true;
        if (this.o.endUsage === 'increment') run.totals = addTotals(run.totals, batch.totals);
        else {
          const { totals, mismatch } = applyFinal(run.totals, batch.totals, args.token_usage);
          run.totals = totals;
          run.final_mismatch = run.final_mismatch || mismatch;
        }
        run.extra = addExtra(run.extra, batch.extra);
        this.noteBatch(run, batch);
        const diff = positiveDiff(run.totals, before);
        if (!isZero(diff))
          effects.push({ kind: 'usage', project: run.project_key, runStartedAt: run.started_at, model: args.token_usage.model ?? run.last_model ?? '', delta: diff });
      }
      if (reaped) {
        const late = lateEndSpan(run, args.status, this.text(args.summary) ?? undefined, now);
        const diff = positiveDiff(run.totals, before);
        late.attributes[ATTR.genAiUsageInputTokens] = diff.input_tokens;
        late.attributes[ATTR.genAiUsageOutputTokens] = diff.output_tokens;
        late.attributes[ATTR.traceCostUsd] = diff.cost_usd;
        spans.push(late);
        return { result: { ...this.endResult(run), already_ended: true, reaped: true }, spans, effects, run };
      }
      run.status = args.status;
      run.end_reason = 'agent';
      run.ended_at = now;
      run.last_activity_at = now;
      run.end_summary = this.text(args.summary);
      if (args.meta_json) run.meta = { ...(run.meta ?? {}), ...redactValue(args.meta_json) };
      spans.push(rootSpan(run, await tx.takeEvents(run.run_id)));
      run.root_exported = true;
      effects.push(this.endedEffect(run));
      return { result: this.endResult(run), spans, effects, run };
    }, async (tx) => void (await this.getVisible(tx, args.run_id, ctx)));
  }

  private endedEffect(run: RunRecord): MetricEffect {
    return {
      kind: 'run_ended',
      project: run.project_key,
      status: run.status,
      reason: run.end_reason ?? 'agent',
      durationS: Math.max(0, ((run.ended_at ?? run.last_activity_at) - run.started_at) / 1000),
    };
  }

  private endResult(run: RunRecord) {
    const url = this.traceUrlOf(run.trace_id);
    return { run_id: run.run_id, status: run.status, totals: run.totals, trace_id: run.trace_id, ...(url ? { trace_url: url } : {}) };
  }

  async recordFailure(args: ToolArgs<'core_record_failure'>, ctx: CallContext) {
    this.requireProject(ctx, args.project_key);
    return this.call('core_record_failure', args.run_id, args.run_id, ctx, args, async (tx, now) => {
      let run = await tx.getRun(args.run_id);
      const effects: MetricEffect[] = [];
      if (run && (run.project_key !== args.project_key || !this.canSee(ctx, run.project_key))) throw runNotFound(args.run_id);
      if (!run) {
        // nothing is lost: the run's trace exists from this failure on
        run = newRunRecord(args.run_id, args.project_key, args.agent_id, now, parseTraceparent(ctx.traceparent));
        run.implicit = true;
        effects.push({ kind: 'run_started', project: run.project_key });
      }
      const error = this.o.captureContent && args.error !== undefined ? redactText(args.error) : undefined;
      const failureId = randomUUID();
      // the type becomes a span attribute and a metric label: derive it from redacted text only
      const errorType = errorTypeOf(args.error === undefined ? undefined : redactText(args.error), args.meta ? redactValue(args.meta) : undefined);
      const event = failureEvent(
        {
          failure_id: failureId,
          error_type: errorType,
          summary: redactText(args.summary),
          error,
          task_id: args.task_id,
          context: args.context ? redactValue(args.context) : undefined,
          meta: args.meta ? redactValue(args.meta) : undefined,
        },
        now,
      );
      const spans: SpanRecord[] = [];
      if (run.root_exported) spans.push(recordFailureSpan(run, event));
      else await this.keepEvent(tx, run, event);
      run.failures += 1;
      run.last_error_type = errorType;
      run.last_failure_summary = redactText(args.summary);
      if (run.status === 'running') run.last_activity_at = now;
      effects.push({ kind: 'failure', project: run.project_key, errorType });
      return { result: { failure_id: failureId, run_id: run.run_id, trace_id: run.trace_id }, spans, effects, run };
    }, async (tx) => {
      const run = await tx.getRun(args.run_id);
      if (run && (run.project_key !== args.project_key || !this.canSee(ctx, run.project_key))) throw runNotFound(args.run_id);
    });
  }

  async recordRun(args: ToolArgs<'record_run'>, ctx: CallContext) {
    this.requireProject(ctx, args.project_key);
    const runId = randomUUID();
    const lockKey = ctx.idempotencyKey ? `idem:${args.project_key}:${ctx.idempotencyKey}` : runId;
    return this.call('record_run', lockKey, `project:${args.project_key}`, ctx, args, async (_tx, now) => {
      const run = newRunRecord(runId, args.project_key, null, now);
      run.agent_name = args.agent;
      run.summary = redactText(args.summary);
      run.meta = args.meta_json ? redactValue(args.meta_json) : null;
      run.status = 'completed';
      run.end_reason = 'agent';
      run.ended_at = now;
      run.root_exported = true;
      const effects: MetricEffect[] = [{ kind: 'run_started', project: run.project_key }, this.endedEffect(run)];
      return { result: { run_id: run.run_id, trace_id: run.trace_id }, spans: [recordRunSpan(run, args.ticket)], effects, run };
    });
  }

  /** Ends one stale run as interrupted (the reaper); false when it is no longer stale. */
  async reap(runId: string, idleBefore: number, startedBefore: number): Promise<boolean> {
    let reaped = false;
    await this.call('reaper', runId, undefined, {}, {}, async (tx, now) => {
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
      reaped = true;
      return { result: {}, spans, effects: [this.endedEffect(run)], run };
    });
    return reaped;
  }

  async getRun(runId: string, ctx: CallContext): Promise<RunView> {
    const run = await this.o.store.getRun(runId);
    if (!run || !this.canSee(ctx, run.project_key)) throw runNotFound(runId);
    return this.view(run);
  }

  /** Child run ids and the totals of the run with all its descendants (sub-agent runs). */
  async descendants(run: RunView, ctx: CallContext): Promise<{ children: string[]; totals_with_children: Totals }> {
    const projects = ctx.projects && !ctx.projects.includes('*') ? [...ctx.projects] : undefined;
    let total = run.totals;
    let children: string[] = [];
    let level = [run.run_id];
    const seen = new Set(level);
    for (let depth = 0; depth < 16 && level.length > 0 && seen.size < 10_000; depth++) {
      const next: string[] = [];
      for (const parent of level) {
        const page = await this.o.store.listRuns({ parent_run_id: parent, sort: 'started_at', limit: 500, projects });
        for (const child of page.runs) {
          if (seen.has(child.run_id)) continue;
          seen.add(child.run_id);
          next.push(child.run_id);
          total = addTotals(total, child.totals);
        }
      }
      if (depth === 0) children = next;
      level = next;
    }
    return { children, totals_with_children: total };
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

export type { Totals };
