import { ATTR } from '../telemetry/attributes.js';
import { redactValue } from '../telemetry/redact.js';
import { entrySpan, type EntrySlot } from '../telemetry/run-spans.js';
import type { Attributes, SpanRecord } from '../telemetry/span-record.js';
import type { TokenUsage, TraceEntry } from '../tools/schemas.js';
import type { RunRecord } from './model.js';
import { toBatch, type CostCalculator } from './totals.js';

export interface TraceEntryOptions {
  traceEntries: 'all' | 'errors' | 'none';
  captureContent: boolean;
  pricing?: CostCalculator;
}

/** A call's `traces` entries → child spans (redacted, priced, filtered by BRIDGE_TRACE_ENTRIES). */
export function traceEntrySpans(run: RunRecord, entries: TraceEntry[] | undefined, now: number, o: TraceEntryOptions): SpanRecord[] {
  if (!entries?.length || o.traceEntries === 'none') return [];
  const spans: SpanRecord[] = [];
  const slots = layoutTimelessEntries(entries, run.started_at, now);
  entries.forEach((raw, i) => {
    if (o.traceEntries === 'errors' && raw.status !== 'error') return;
    const entry = cleanEntry(raw, o.captureContent);
    spans.push(entrySpan(run, entry, now, entryCost(entry, o.pricing), slots[i]));
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

/** An entry's cost attributes: its own cost (reported), a computed one, or `unknown` for tokens without either. */
function entryCost(entry: TraceEntry, pricing: CostCalculator | undefined): Attributes {
  const batch = toBatch(entry as TokenUsage, pricing);
  const extra: Attributes = {};
  if (batch.costSource) extra[ATTR.usageCostSource] = batch.costSource;
  if (batch.costSource === 'computed') extra[ATTR.traceCostUsd] = batch.totals.cost_usd;
  if (batch.provider) extra[ATTR.genAiProviderName] = batch.provider;
  return extra;
}

function cleanEntry(entry: TraceEntry, captureContent: boolean): TraceEntry {
  const clean = { ...redactValue(entry) }; // a copy: fields are removed below
  if (!captureContent) {
    delete clean.error;
    delete (clean as Record<string, unknown>).prompt_preview;
  }
  return clean;
}
