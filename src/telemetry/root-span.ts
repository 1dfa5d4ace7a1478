import type { RunRecord } from '../runs/model.js';
import { ATTR, PREFIX } from './attributes.js';
import { flattenInto } from './flatten.js';
import { capSpan } from './run-spans.js';
import { OPENINFERENCE, SPAN_KIND_OI } from './openinference.js';
import { reportedExtras, setCost, setTokenUsage } from './usage-attributes.js';
import { SPAN_KIND, STATUS_CODE, spanRecord, type Attributes, type SpanRecord, type StoredEvent } from './span-record.js';

function agentNameOf(run: RunRecord): string | undefined {
  const name = run.meta?.agent_name;
  return typeof name === 'string' && name ? name.slice(0, 128) : undefined;
}

function usageAttributes(run: RunRecord, attrs: Attributes): void {
  setTokenUsage(attrs, { input_tokens: run.totals.input_tokens, output_tokens: run.totals.output_tokens });
  attrs[ATTR.usageTotalTokens] = run.totals.total_tokens;
  attrs[ATTR.usageCostUsd] = run.totals.cost_usd;
  // the run's total; Langfuse (3.206 on) reads no usage or cost on invoke_agent spans and Phoenix
  // sums tokens and prices only LLM spans, so neither adds it to the LLM spans' share (docs/architecture.md#tokens-and-cost)
  setCost(attrs, { total: run.totals.cost_usd });
  attrs[ATTR.usageLlmCalls] = run.totals.llm_calls;
  setTokenUsage(attrs, reportedExtras(run.extra));
  if (run.last_model) attrs[ATTR.genAiRequestModel] = run.last_model;
  if (run.models.length) attrs[ATTR.usageModels] = [...run.models];
  if (run.provider) attrs[ATTR.genAiProviderName] = run.provider;
  const costSource = costSourceOf(run);
  if (costSource) attrs[ATTR.usageCostSource] = costSource;
  if (run.final_mismatch) attrs[ATTR.usageFinalMismatch] = true;
  if (run.total_mismatch) attrs[ATTR.usageTotalMismatch] = true;
  if (run.reports_dropped) attrs[ATTR.usageReportsDropped] = run.reports_dropped;
  if (run.spans_above_totals) attrs[ATTR.usageSpansAboveTotals] = true;
}

/** The columns GenAI-aware backends show: input/output (the summaries), metadata (meta_json), already redacted. */
function columnAttributes(run: RunRecord, attrs: Attributes): void {
  if (run.summary) attrs[OPENINFERENCE.inputValue] = run.summary;
  if (run.end_summary) attrs[OPENINFERENCE.outputValue] = run.end_summary;
  if (run.meta) attrs[OPENINFERENCE.metadata] = JSON.stringify(run.meta);
  if (run.session_id) attrs[OPENINFERENCE.sessionId] = run.session_id;
}

/** Where the run's cost figure came from; undefined for a run that reported no usage at all. */
export function costSourceOf(run: RunRecord): string | undefined {
  const s = new Set(run.cost_sources);
  if (s.size === 0) return run.totals.total_tokens > 0 ? 'unknown' : run.totals.cost_usd > 0 ? 'reported' : undefined;
  if (s.size === 1) return [...s][0];
  return 'mixed';
}

/** The run's root span `invoke_agent {agent_name}`, built from the stored run when it ends. */
export function rootSpan(run: RunRecord, events: StoredEvent[]): SpanRecord {
  const agentName = agentNameOf(run);
  const attrs: Attributes = {
    [ATTR.genAiOperationName]: 'invoke_agent',
    [OPENINFERENCE.spanKind]: SPAN_KIND_OI.agent,
    [ATTR.projectKey]: run.project_key,
    [ATTR.runId]: run.run_id,
    [ATTR.runStatus]: run.status,
  };
  if (run.session_id) attrs[ATTR.genAiConversationId] = run.session_id;
  if (run.agent_id) attrs[ATTR.genAiAgentId] = run.agent_id;
  if (agentName) attrs[ATTR.genAiAgentName] = agentName;
  if (run.end_reason) attrs[ATTR.runEndReason] = run.end_reason;
  if (run.parent_run_id) attrs[ATTR.runParentId] = run.parent_run_id;
  if (run.summary) attrs[ATTR.runSummary] = run.summary;
  if (run.end_summary) attrs[ATTR.runEndSummary] = run.end_summary;
  usageAttributes(run, attrs);
  columnAttributes(run, attrs);
  if (run.status === 'failed') attrs[ATTR.errorType] = run.last_error_type ?? 'run_failed';
  if (run.meta) flattenInto(attrs, PREFIX.meta, run.meta);

  const status =
    run.status === 'completed'
      ? { code: STATUS_CODE.OK }
      : run.status === 'failed'
        ? { code: STATUS_CODE.ERROR, ...(run.end_summary ? { message: run.end_summary } : {}) }
        : { code: STATUS_CODE.UNSET };

  return capSpan(
    spanRecord({
      project_key: run.project_key,
      trace_id: run.trace_id,
      span_id: run.root_span_id,
      parent_span_id: run.parent_span_id,
      trace_flags: run.trace_flags,
      name: agentName ? `invoke_agent ${agentName}` : 'invoke_agent',
      kind: SPAN_KIND.INTERNAL,
      start: run.started_at,
      end: Math.max(run.ended_at ?? run.last_activity_at, run.started_at),
      attributes: attrs,
      events,
      links: run.links,
      status,
      dropped_events: run.events_dropped,
    }),
  );
}

/** record_run (v1): one complete trace made of a single span `record_run {agent}` (an AGENT span; no `gen_ai.operation.name`: it times nothing). */
export function recordRunSpan(run: RunRecord, ticket: string | undefined): SpanRecord {
  const attrs: Attributes = {
    [OPENINFERENCE.spanKind]: SPAN_KIND_OI.agent,
    [ATTR.projectKey]: run.project_key,
    [ATTR.runId]: run.run_id,
    [ATTR.agent]: run.agent_name ?? '',
    [ATTR.runStatus]: run.status,
  };
  if (ticket) attrs[ATTR.ticket] = ticket;
  if (run.summary) attrs[ATTR.runSummary] = run.summary;
  columnAttributes(run, attrs);
  if (run.meta) flattenInto(attrs, PREFIX.meta, run.meta);
  return capSpan(
    spanRecord({
      project_key: run.project_key,
      trace_id: run.trace_id,
      span_id: run.root_span_id,
      parent_span_id: null,
      trace_flags: run.trace_flags,
      name: `record_run ${run.agent_name ?? ''}`.trim(),
      kind: SPAN_KIND.INTERNAL,
      start: run.started_at,
      end: run.ended_at ?? run.started_at,
      attributes: attrs,
      status: { code: STATUS_CODE.OK },
    }),
  );
}
