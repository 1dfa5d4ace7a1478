import type { TokenUsage } from '../tools/schemas.js';
import type { MetricEffect } from './effects.js';
import { zeroTotals, type CostSource, type ExtraTokens, type RunRecord, type Totals } from './model.js';

/** Prices a usage batch that carries tokens and a model but no cost. */
export interface CostCalculator {
  price(model: string, usage: TokenUsage): PriceResult | undefined;
  /** the `gen_ai.provider.name` the pricing data gives the model, when it knows it */
  providerOf?(model: string): string | undefined;
}

export interface PriceResult {
  cost_usd: number;
  provider?: string;
  /** the prompt / completion split of the price */
  prompt?: number;
  completion?: number;
}

export interface UsageBatch {
  totals: Totals;
  extra: ExtraTokens;
  model?: string;
  provider?: string;
  /** where the cost came from; undefined when the batch has neither tokens nor cost */
  costSource?: CostSource;
  /** the prompt / completion split of a computed cost */
  costSplit?: { prompt?: number; completion?: number };
}

/** One token_usage object → the numbers it adds (total_tokens defaults to input + output). */
export function toBatch(usage: TokenUsage, pricing?: CostCalculator): UsageBatch {
  const input = usage.input_tokens ?? 0;
  const output = usage.output_tokens ?? 0;
  const totals: Totals = {
    input_tokens: input,
    output_tokens: output,
    total_tokens: usage.total_tokens ?? input + output,
    cost_usd: usage.cost_usd ?? 0,
    llm_calls: usage.llm_calls ?? 0,
  };
  const extra: ExtraTokens = {
    cache_read_input_tokens: usage.cache_read_input_tokens ?? 0,
    cache_creation_input_tokens: usage.cache_creation_input_tokens ?? 0,
    reasoning_output_tokens: usage.reasoning_output_tokens ?? 0,
  };
  const batch: UsageBatch = { totals, extra, model: usage.model };
  if (usage.model && pricing?.providerOf) batch.provider = pricing.providerOf(usage.model);
  const hasTokens = totals.total_tokens > 0 || input > 0 || output > 0;
  if (usage.cost_usd !== undefined) batch.costSource = 'reported';
  else if (hasTokens) {
    const priced = usage.model && pricing ? pricing.price(usage.model, usage) : undefined;
    if (priced) {
      totals.cost_usd = priced.cost_usd;
      batch.provider = priced.provider;
      batch.costSource = 'computed';
      if (priced.prompt !== undefined || priced.completion !== undefined)
        batch.costSplit = { prompt: priced.prompt, completion: priced.completion };
    } else batch.costSource = 'unknown';
  }
  return batch;
}

export function addTotals(a: Totals, b: Totals): Totals {
  return {
    input_tokens: a.input_tokens + b.input_tokens,
    output_tokens: a.output_tokens + b.output_tokens,
    total_tokens: a.total_tokens + b.total_tokens,
    cost_usd: roundCost(a.cost_usd + b.cost_usd),
    llm_calls: a.llm_calls + b.llm_calls,
  };
}

export function addExtra(a: ExtraTokens, b: ExtraTokens): ExtraTokens {
  return {
    cache_read_input_tokens: a.cache_read_input_tokens + b.cache_read_input_tokens,
    cache_creation_input_tokens: a.cache_creation_input_tokens + b.cache_creation_input_tokens,
    reasoning_output_tokens: a.reasoning_output_tokens + b.reasoning_output_tokens,
  };
}

/** Per field max(current, final); `mismatch` when a final figure is below what was already recorded. */
export function applyFinal(current: Totals, final: Totals, given: TokenUsage): { totals: Totals; mismatch: boolean } {
  const fields: (keyof Totals)[] = ['input_tokens', 'output_tokens', 'total_tokens', 'cost_usd', 'llm_calls'];
  const out = { ...current };
  let mismatch = false;
  for (const f of fields) {
    const provided =
      f === 'total_tokens'
        ? given.total_tokens !== undefined || given.input_tokens !== undefined || given.output_tokens !== undefined
        : f === 'cost_usd'
          ? final.cost_usd > 0 || given.cost_usd !== undefined
          : given[f] !== undefined;
    if (!provided) continue;
    if (final[f] < current[f]) mismatch = true;
    out[f] = Math.max(current[f], final[f]);
  }
  return { totals: out, mismatch };
}

/** Positive per-field difference, so metric counters never go backwards. */
export function positiveDiff(after: Totals, before: Totals): Totals {
  const d = zeroTotals();
  for (const f of Object.keys(d) as (keyof Totals)[]) d[f] = Math.max(0, after[f] - before[f]);
  d.cost_usd = roundCost(d.cost_usd);
  return d;
}

/** Keeps cost sums free of binary floating-point noise (1e-12 USD resolution). */
export function roundCost(x: number): number {
  return Math.round(x * 1e12) / 1e12;
}

export function isZero(t: Totals): boolean {
  return t.input_tokens === 0 && t.output_tokens === 0 && t.total_tokens === 0 && t.cost_usd === 0 && t.llm_calls === 0;
}

/** Notes a batch's model, provider and cost source on the run. */
export function noteBatch(run: RunRecord, batch: UsageBatch): void {
  if (batch.model) {
    run.last_model = batch.model;
    if (!run.models.includes(batch.model)) run.models.push(batch.model);
  }
  if (batch.provider) run.provider = batch.provider;
  if (batch.costSource && !run.cost_sources.includes(batch.costSource)) run.cost_sources.push(batch.costSource);
}

/** Applies one usage batch to the run: totals, models, cost sources; returns the metric effect. */
export function addUsage(run: RunRecord, batch: UsageBatch): MetricEffect | undefined {
  run.totals = addTotals(run.totals, batch.totals);
  run.extra = addExtra(run.extra, batch.extra);
  noteBatch(run, batch);
  if (isZero(batch.totals)) return undefined;
  return {
    kind: 'usage',
    project: run.project_key,
    runStartedAt: run.started_at,
    model: batch.model ?? run.last_model ?? '',
    delta: batch.totals,
  };
}
