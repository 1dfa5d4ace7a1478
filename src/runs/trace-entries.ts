import { ATTR } from '../telemetry/attributes.js';
import { redactValue } from '../telemetry/redact.js';
import { entrySpan, type EntrySlot } from '../telemetry/run-spans.js';
import type { Attributes, SpanRecord } from '../telemetry/span-record.js';
import type { CostFigures } from '../telemetry/usage-attributes.js';
import type { TokenUsage, TraceEntry } from '../tools/schemas.js';
import type { RunRecord } from './model.js';
import { toBatch, type CostCalculator } from './totals.js';

export interface TraceEntryOptions {
  traceEntries: 'all' | 'errors' | 'none';
  captureContent: boolean;
  pricing?: CostCalculator;
}

/** The call the entries came with: when its token_usage reports its own cost, that figure is authoritative. */
export interface EntryCallContext {
  costReported: boolean;
}

/** A call's `traces` entries → child spans (redacted, priced, filtered by BRIDGE_TRACE_ENTRIES). */
export function traceEntrySpans(
  run: RunRecord,
  entries: TraceEntry[] | undefined,
  now: number,
  o: TraceEntryOptions,
  call: EntryCallContext = { costReported: false },
): SpanRecord[] {
  if (!entries?.length || o.traceEntries === 'none') return [];
  const spans: SpanRecord[] = [];
  const slots = layoutTimelessEntries(entries, run.started_at, now);
  entries.forEach((raw, i) => {
    if (o.traceEntries === 'errors' && raw.status !== 'error') return;
    const entry = cleanEntry(raw, o.captureContent);
    const { attributes, cost } = entryCost(entry, o.pricing, call);
    spans.push(entrySpan(run, entry, now, attributes, slots[i], cost));
  });
  return spans;
}

/**
 * Places the entries that give no `started_at` / `ended_at` (only `duration_ms`, or nothing): in
 * their order, back to back, the last one ending at the report time. None starts before the run:
 * one that would is cut at the run's start (and flagged). Entries with times of their own get no slot.
 */
export function layoutTimelessEntries(entries: readonly TraceEntry[], runStart: number, now: number): (EntrySlot | undefined)[] {
  const slots: (EntrySlot | undefined)[] = new Array<EntrySlot | undefined>(entries.length).fill(undefined);
  let cursor = now;
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i];
    if (e.started_at !== undefined || e.ended_at !== undefined) continue;
    const end = Math.max(cursor, runStart);
    const wanted = cursor - (e.duration_ms ?? 0);
    const start = Math.max(wanted, runStart);
    slots[i] = { start, end, clamped: wanted < runStart };
    cursor = wanted;
  }
  return slots;
}

/**
 * An entry's cost attributes (its own cost: reported; a computed one; or `unknown` for tokens
 * without either), its provider (priced, else inferred from the model), and the computed cost its
 * LLM span carries as `llm.cost.*` when it gave none — unless the call reported its cost itself
 * (then the call's figure is what the run counts, carried by the uncovered-usage span).
 */
function entryCost(
  entry: TraceEntry,
  pricing: CostCalculator | undefined,
  call: EntryCallContext,
): { attributes: Attributes; cost?: CostFigures } {
  const batch = toBatch(entry as TokenUsage, pricing);
  const attributes: Attributes = {};
  if (batch.costSource) attributes[ATTR.usageCostSource] = batch.costSource;
  if (batch.costSource === 'computed') attributes[ATTR.traceCostUsd] = batch.totals.cost_usd;
  const provider = batch.provider ?? (entry.model ? pricing?.providerOf?.(entry.model) : undefined);
  if (provider) attributes[ATTR.genAiProviderName] = provider;
  const computed = batch.costSource === 'computed' && !call.costReported;
  return { attributes, cost: computed ? { total: batch.totals.cost_usd, ...batch.costSplit } : undefined };
}

function cleanEntry(entry: TraceEntry, captureContent: boolean): TraceEntry {
  const clean = { ...redactValue(entry) }; // a copy: fields are removed below
  if (!captureContent) {
    delete clean.error;
    delete (clean as Record<string, unknown>).prompt_preview;
  }
  return clean;
}
