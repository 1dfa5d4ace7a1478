import { ATTR } from '../telemetry/attributes.js';
import { OPENINFERENCE, SPAN_KIND_OI } from '../telemetry/openinference.js';
import { TOKEN_FIELDS, childOf } from '../telemetry/run-spans.js';
import { SPAN_KIND, type Attributes, type SpanRecord } from '../telemetry/span-record.js';
import { setCost, setTokenTotal, setTokenUsage } from '../telemetry/usage-attributes.js';
import { zeroCarried, type CarriedUsage, type RunRecord } from './model.js';
import { roundCost } from './totals.js';

/**
 * The token rule (docs/architecture.md#tokens-and-cost): every token and every dollar the run counts
 * is carried by exactly one LLM-kind span — a trace entry's own `chat` span where the agent gave
 * one, otherwise an `uncovered usage` span the bridge adds for the part of a usage batch (or of the
 * final totals) no entry covers. The run remembers what its LLM spans carry (`run.carried`).
 */

const FIELDS = TOKEN_FIELDS;

const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);

/** What one span carries, read back from its attributes; undefined for a span that is not LLM-kind. */
export function carriedBy(span: SpanRecord): CarriedUsage | undefined {
  const a = span.attributes;
  if (a[OPENINFERENCE.spanKind] !== SPAN_KIND_OI.llm) return undefined;
  return {
    input_tokens: count(a[ATTR.genAiUsageInputTokens]),
    output_tokens: count(a[ATTR.genAiUsageOutputTokens]),
    cache_read_input_tokens: count(a[ATTR.genAiUsageCacheReadInputTokens]),
    cache_creation_input_tokens: count(a[ATTR.genAiUsageCacheWriteInputTokens]),
    reasoning_output_tokens: count(a[ATTR.genAiUsageReasoningOutputTokens]),
    cost_usd: count(a[OPENINFERENCE.costTotal]),
  };
}

/** The run's figures in the carried shape: totals plus cache and reasoning counts. */
function runFigures(run: RunRecord): CarriedUsage {
  return { input_tokens: run.totals.input_tokens, output_tokens: run.totals.output_tokens, cost_usd: run.totals.cost_usd, ...run.extra };
}

/** Adds the LLM spans among `spans` to what the run's spans carry; flags the run while they carry more than its totals. */
export function noteCarried(run: RunRecord, spans: readonly SpanRecord[]): void {
  const carried = { ...(run.carried ?? zeroCarried()) };
  for (const span of spans) {
    const c = carriedBy(span);
    if (!c) continue;
    for (const f of FIELDS) carried[f] += c[f];
    carried.cost_usd = roundCost(carried.cost_usd + c.cost_usd);
  }
  run.carried = carried;
  const figures = runFigures(run);
  const above = [...FIELDS, 'cost_usd' as const].some((f) => carried[f] > figures[f] + (f === 'cost_usd' ? 1e-9 : 0));
  if (above) run.spans_above_totals = true;
  else delete run.spans_above_totals;
}

/** What the run counts and no LLM span carries yet (per field, never negative). */
export function uncoveredUsage(run: RunRecord): CarriedUsage {
  const carried = run.carried ?? zeroCarried();
  const figures = runFigures(run);
  const out = zeroCarried();
  for (const f of FIELDS) out[f] = Math.max(0, figures[f] - carried[f]);
  out.cost_usd = Math.max(0, roundCost(figures.cost_usd - carried.cost_usd));
  return out;
}

export interface UncoveredSpanOptions {
  /** `usage_report` (a core_report_usage batch) or `run_totals` (the final totals at the end) */
  source: 'usage_report' | 'run_totals';
  start: number;
  end: number;
}

/**
 * The LLM span for the usage no entry covers (`chat {model}`, CLIENT, `oprelay.usage.uncovered_by`),
 * or undefined when everything is covered. Notes what it carries on the run.
 */
export function uncoveredUsageSpan(run: RunRecord, o: UncoveredSpanOptions): SpanRecord | undefined {
  const u = uncoveredUsage(run);
  if (FIELDS.every((f) => u[f] === 0) && u.cost_usd === 0) return undefined;
  const attrs: Attributes = {
    [ATTR.genAiOperationName]: 'chat',
    [OPENINFERENCE.spanKind]: SPAN_KIND_OI.llm,
    [ATTR.usageUncoveredBy]: o.source,
  };
  // the model and provider of the run's latest usage: the batch that just came in, or the final totals
  if (run.last_model) attrs[ATTR.genAiRequestModel] = run.last_model;
  if (run.provider) attrs[ATTR.genAiProviderName] = run.provider;
  const counts = {
    input_tokens: u.input_tokens,
    output_tokens: u.output_tokens,
    cache_read_input_tokens: u.cache_read_input_tokens || undefined,
    cache_creation_input_tokens: u.cache_creation_input_tokens || undefined,
    reasoning_output_tokens: u.reasoning_output_tokens || undefined,
  };
  setTokenUsage(attrs, counts);
  setTokenTotal(attrs, counts);
  if (u.cost_usd > 0) setCost(attrs, { total: u.cost_usd });
  const name = run.last_model ? `chat ${run.last_model}` : 'chat';
  const span = childOf(run, name, SPAN_KIND.CLIENT, o.start, Math.max(o.start, o.end), attrs);
  noteCarried(run, [span]);
  return span;
}

/**
 * After a call's spans are built: notes what its LLM entry spans carry and appends the
 * uncovered-usage span when the run counts more. A run stored before the rule existed (no
 * `carried`) gets none: its earlier spans' share is unknown.
 */
export function coverUsage(run: RunRecord, spans: SpanRecord[], o: UncoveredSpanOptions): void {
  if (!run.carried) return;
  noteCarried(run, spans);
  const span = uncoveredUsageSpan(run, o);
  if (span) spans.push(span);
}
