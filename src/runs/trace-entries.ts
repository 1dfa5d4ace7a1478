import { ATTR } from '../telemetry/attributes.js';
import { redactValue } from '../telemetry/redact.js';
import { entrySpan } from '../telemetry/run-spans.js';
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
  for (const raw of entries) {
    if (o.traceEntries === 'errors' && raw.status !== 'error') continue;
    const entry = cleanEntry(raw, o.captureContent);
    spans.push(entrySpan(run, entry, now, entryCost(entry, o.pricing)));
  }
  return spans;
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
