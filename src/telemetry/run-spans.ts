import type { RunRecord } from '../runs/model.js';
import type { TraceEntry } from '../tools/schemas.js';
import { ATTR, EVENT, PREFIX } from './attributes.js';
import { flattenInto } from './flatten.js';
import { newSpanId } from './ids.js';
import { SPAN_KIND, STATUS_CODE, spanRecord, type Attributes, type SpanRecord, type StoredEvent } from './span-record.js';
import { OPENINFERENCE, SPAN_KIND_OI } from './openinference.js';
import { setCost, setTokenTotal, setTokenUsage, type CostFigures } from './usage-attributes.js';

export const MAX_ATTRIBUTES = 128;
export const MAX_EVENTS = 128;

/** Caps attributes and events (docs/architecture.md#span-limits) and records what was cut on the span itself. */
export function capSpan(span: SpanRecord): SpanRecord {
  const keys = Object.keys(span.attributes);
  const droppedEvents = span.dropped_events + Math.max(0, span.events.length - MAX_EVENTS);
  const events = span.events.length > MAX_EVENTS ? span.events.slice(0, MAX_EVENTS) : span.events;
  let attributes = span.attributes;
  let droppedAttrs = span.dropped_attributes;
  const reserved = (droppedEvents > 0 ? 1 : 0) + 1;
  if (keys.length + (droppedEvents > 0 ? 1 : 0) > MAX_ATTRIBUTES) {
    const keep = keys.slice(0, MAX_ATTRIBUTES - reserved);
    droppedAttrs += keys.length - keep.length;
    attributes = Object.fromEntries(keep.map((k) => [k, span.attributes[k]]));
  }
  if (droppedAttrs > 0) attributes = { ...attributes, [ATTR.droppedAttributes]: droppedAttrs };
  if (droppedEvents > 0) attributes = { ...attributes, [ATTR.droppedEvents]: droppedEvents };
  return { ...span, attributes, events, dropped_attributes: droppedAttrs, dropped_events: droppedEvents };
}

/** A dotted identifier at the start of a line, followed by a colon or the end of the line. */
const LEADING_NAME = /^\s*((?:[A-Za-z_$][\w$]*\.)*[A-Za-z_$][\w$]*)\s*(?::|$)/;

/**
 * A failure's error type, one rule (docs/failures.md): the exception name that starts the error
 * text — the first line, or a Python traceback's last line — when it ends in `Error` or
 * `Exception` (`Error: connect ETIMEDOUT…` → `Error`, `TypeError: …` → `TypeError`,
 * `requests.exceptions.ConnectionError: …` keeps its module path); else `meta.error_type`; else `failure`.
 */
export function errorTypeOf(error: string | undefined, meta?: Record<string, unknown>): string {
  const name = error ? exceptionName(error) : undefined;
  if (name) return name.slice(0, 128);
  const fromMeta = meta?.error_type;
  if (typeof fromMeta === 'string' && fromMeta) return fromMeta.slice(0, 128);
  return 'failure';
}

function exceptionName(error: string): string | undefined {
  const lines = error.trim().split('\n');
  let line = lines[0];
  if (line.startsWith('Traceback (most recent call last)')) {
    // the exception line is the last one not indented (frames and source lines are)
    for (let i = lines.length - 1; i > 0; i--) {
      if (lines[i].trim() && !/^\s/.test(lines[i])) {
        line = lines[i];
        break;
      }
    }
  }
  const m = LEADING_NAME.exec(line);
  if (!m) return undefined;
  const last = m[1].slice(m[1].lastIndexOf('.') + 1);
  return /(?:Error|Exception)$/.test(last) ? m[1] : undefined;
}

export function childOf(run: RunRecord, name: string, kind: number, start: number, end: number, attributes: Attributes): SpanRecord {
  return spanRecord({
    project_key: run.project_key,
    trace_id: run.trace_id,
    span_id: newSpanId(),
    parent_span_id: run.root_span_id,
    trace_flags: run.trace_flags,
    name,
    kind,
    start,
    end,
    attributes: { [ATTR.runId]: run.run_id, [ATTR.projectKey]: run.project_key, ...attributes },
  });
}

/** The immediately exported `start_run` child, so a running run shows up in Jaeger. */
export function startRunSpan(run: RunRecord, now: number): SpanRecord {
  // a bookkeeping marker, not an agent invocation: only the root is `invoke_agent`
  const attrs: Attributes = { [OPENINFERENCE.spanKind]: SPAN_KIND_OI.chain };
  if (run.agent_id) attrs[ATTR.genAiAgentId] = run.agent_id;
  if (run.summary) attrs[ATTR.runSummary] = run.summary;
  return childOf(run, 'start_run', SPAN_KIND.INTERNAL, run.started_at, Math.max(now, run.started_at), attrs);
}

function toMs(v: string | number | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') return v;
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : undefined;
}

const KNOWN_ENTRY_FIELDS = new Set([
  'type',
  'name',
  'model',
  'tool',
  'input_tokens',
  'output_tokens',
  'total_tokens',
  'cost_usd',
  'started_at',
  'ended_at',
  'duration_ms',
  'status',
  'error',
  'cache_read_input_tokens',
  'cache_creation_input_tokens',
  'reasoning_output_tokens',
]);

/** A trace entry's token counts (the LLM-span token rule in runs/llm-coverage.ts counts the same ones). */
export const TOKEN_FIELDS = [
  'input_tokens',
  'output_tokens',
  'cache_read_input_tokens',
  'cache_creation_input_tokens',
  'reasoning_output_tokens',
] as const;

/** Where an entry without times of its own is placed (src/runs/trace-entries.ts lays them out). */
export interface EntrySlot {
  start: number;
  end: number;
  /** cut at the run's start: the entries of the call add up to more than the run so far */
  clamped: boolean;
}

/** total_tokens below input + output: kept as reported, flagged (docs/trace-entries.md). */
export function totalBelowParts(usage: { input_tokens?: number; output_tokens?: number; total_tokens?: number }): boolean {
  return usage.total_tokens !== undefined && usage.total_tokens < (usage.input_tokens ?? 0) + (usage.output_tokens ?? 0);
}

/**
 * A `traces` entry → `chat {model}` (CLIENT, LLM), `execute_tool {tool}` (INTERNAL, TOOL) or a generic
 * step span (CHAIN). Token counts and `llm.cost.*` (the entry's own cost, else `cost`: a computed one) go
 * under `gen_ai.usage.*` on LLM spans only; other entries keep theirs under `oprelay.trace.*`, so
 * no backend summing usage counts them (docs/architecture.md#tokens-and-cost).
 */
export function entrySpan(
  run: RunRecord,
  entry: TraceEntry,
  now: number,
  extra: Attributes = {},
  slot?: EntrySlot,
  cost?: CostFigures,
): SpanRecord {
  const isTool = entry.tool !== undefined || entry.type === 'tool';
  const isLlm = !isTool && (entry.model !== undefined || entry.type === 'llm');
  const attrs: Attributes = {};
  let name: string;
  let kind: number = SPAN_KIND.INTERNAL;
  if (isTool) {
    const tool = entry.tool ?? entry.name ?? 'tool';
    name = `execute_tool ${tool}`;
    attrs[ATTR.genAiOperationName] = 'execute_tool';
    attrs[OPENINFERENCE.spanKind] = SPAN_KIND_OI.tool;
    attrs[ATTR.genAiToolName] = tool;
  } else if (isLlm) {
    name = entry.model ? `chat ${entry.model}` : 'chat';
    kind = SPAN_KIND.CLIENT;
    attrs[ATTR.genAiOperationName] = 'chat';
    attrs[OPENINFERENCE.spanKind] = SPAN_KIND_OI.llm;
  } else {
    name = entry.name ?? entry.type ?? 'step';
    attrs[OPENINFERENCE.spanKind] = SPAN_KIND_OI.chain;
  }
  if (entry.model) attrs[ATTR.genAiRequestModel] = entry.model;
  if (isLlm) {
    setTokenUsage(attrs, entry);
    setTokenTotal(attrs, entry);
    const llmCost = entry.cost_usd !== undefined ? { total: entry.cost_usd } : cost;
    if (llmCost) setCost(attrs, llmCost);
  } else {
    for (const field of TOKEN_FIELDS) if (entry[field] !== undefined) attrs[`${PREFIX.trace}${field}`] = entry[field];
  }
  if (entry.total_tokens !== undefined) attrs[ATTR.traceTotalTokens] = entry.total_tokens;
  if (totalBelowParts(entry)) attrs[ATTR.traceTotalMismatch] = true;
  if (entry.cost_usd !== undefined) attrs[ATTR.traceCostUsd] = entry.cost_usd;
  if (entry.name !== undefined && (isTool || isLlm)) attrs[`${PREFIX.trace}name`] = entry.name;
  if (entry.type !== undefined) attrs[`${PREFIX.trace}type`] = entry.type;
  Object.assign(attrs, extra);
  const unknown = Object.fromEntries(Object.entries(entry).filter(([k]) => !KNOWN_ENTRY_FIELDS.has(k)));
  flattenInto(attrs, PREFIX.trace, unknown);

  const startGiven = toMs(entry.started_at);
  const endGiven = toMs(entry.ended_at);
  const duration = entry.duration_ms;
  let start: number;
  let end: number;
  if (slot) {
    [start, end] = [slot.start, slot.end];
    if (slot.clamped) {
      attrs[ATTR.traceDurationClamped] = true;
      if (duration !== undefined) attrs[ATTR.traceDurationMs] = duration;
    }
  } else if (startGiven !== undefined && endGiven !== undefined) [start, end] = [startGiven, Math.max(startGiven, endGiven)];
  else if (startGiven !== undefined) [start, end] = [startGiven, startGiven + (duration ?? 0)];
  else if (endGiven !== undefined) [start, end] = [endGiven - (duration ?? 0), endGiven];
  else [start, end] = [now - (duration ?? 0), now];

  const span = childOf(run, name, kind, start, end, attrs);
  if (entry.status === 'error') {
    span.status = { code: STATUS_CODE.ERROR, ...(entry.error ? { message: entry.error } : {}) };
    const type = errorTypeOf(entry.error);
    span.attributes[ATTR.errorType] = type === 'failure' ? 'error' : type;
    if (entry.error) span.attributes[ATTR.traceError] = entry.error;
  } else if (entry.status === 'ok') {
    span.status = { code: STATUS_CODE.OK };
  }
  return capSpan(span);
}

export interface FailureInput {
  failure_id: string;
  error_type: string;
  summary: string;
  error?: string;
  task_id?: string;
  context?: Record<string, unknown>;
  meta?: Record<string, unknown>;
}

export function failureEvent(f: FailureInput, time: number): StoredEvent {
  const attributes: Attributes = {
    [ATTR.exceptionType]: f.error_type,
    [ATTR.exceptionMessage]: f.summary,
    [ATTR.failureId]: f.failure_id,
  };
  if (f.error) attributes[ATTR.exceptionStacktrace] = f.error;
  if (f.task_id) attributes[ATTR.taskId] = f.task_id;
  if (f.context) attributes[ATTR.failureContext] = JSON.stringify(f.context);
  if (f.meta) flattenInto(attributes, PREFIX.meta, f.meta, 1);
  return { name: EVENT.exception, time, attributes };
}

/** A failure arriving after the root span was exported: a child span carrying the same event. */
export function recordFailureSpan(run: RunRecord, event: StoredEvent): SpanRecord {
  const span = childOf(run, 'record_failure', SPAN_KIND.INTERNAL, event.time, event.time, {
    [OPENINFERENCE.spanKind]: SPAN_KIND_OI.chain,
    [ATTR.errorType]: String(event.attributes[ATTR.exceptionType]),
  });
  span.events = [event];
  span.status = { code: STATUS_CODE.ERROR, message: String(event.attributes[ATTR.exceptionMessage]) };
  return span;
}

/** core_end_run after the reaper: a child span with the agent's status and summary. */
export function lateEndSpan(run: RunRecord, status: string, summary: string | undefined, now: number): SpanRecord {
  const attrs: Attributes = { [OPENINFERENCE.spanKind]: SPAN_KIND_OI.chain, [ATTR.lateEndStatus]: status };
  if (summary) attrs[ATTR.lateEndSummary] = summary;
  return childOf(run, 'late_end_run', SPAN_KIND.INTERNAL, now, now, attrs);
}
