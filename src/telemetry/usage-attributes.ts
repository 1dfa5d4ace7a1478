import type { ExtraTokens } from '../runs/model.js';
import type { UsageBatch } from '../runs/totals.js';
import { ATTR, EVENT } from './attributes.js';
import { OPENINFERENCE } from './openinference.js';
import type { Attributes, StoredEvent } from './span-record.js';

/** Token counts as reported or summed; a count left undefined is left off the span. */
export interface TokenCounts {
  input_tokens?: number;
  output_tokens?: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
  reasoning_output_tokens?: number;
}

/** The one token → `gen_ai.usage.*` mapping: root spans, usage events, trace entries and late ends. */
export function setTokenUsage(attrs: Attributes, counts: TokenCounts): void {
  if (counts.input_tokens !== undefined) attrs[ATTR.genAiUsageInputTokens] = counts.input_tokens;
  if (counts.output_tokens !== undefined) attrs[ATTR.genAiUsageOutputTokens] = counts.output_tokens;
  if (counts.cache_read_input_tokens !== undefined) attrs[ATTR.genAiUsageCacheReadInputTokens] = counts.cache_read_input_tokens;
  if (counts.cache_creation_input_tokens !== undefined) {
    // the current name, and the old one Phoenix and Langfuse still read (docs/architecture.md#renamed-attributes)
    attrs[ATTR.genAiUsageCacheWriteInputTokens] = counts.cache_creation_input_tokens;
    attrs[ATTR.genAiUsageCacheCreationInputTokensLegacy] = counts.cache_creation_input_tokens;
  }
  if (counts.reasoning_output_tokens !== undefined) attrs[ATTR.genAiUsageReasoningOutputTokens] = counts.reasoning_output_tokens;
}

/** Cache and reasoning counts of a sum: zero means none was reported, so the attribute is left off. */
export function reportedExtras(extra: ExtraTokens): TokenCounts {
  return {
    cache_read_input_tokens: extra.cache_read_input_tokens || undefined,
    cache_creation_input_tokens: extra.cache_creation_input_tokens || undefined,
    reasoning_output_tokens: extra.reasoning_output_tokens || undefined,
  };
}

/** A cost in US dollars and, when the bridge priced it from the tokens, its prompt / completion split. */
export interface CostFigures {
  total: number;
  prompt?: number;
  completion?: number;
}

/** OpenInference `llm.cost.*` (read by Phoenix and Langfuse): on LLM spans (their share) and the root (the run's total). */
export function setCost(attrs: Attributes, cost: CostFigures): void {
  attrs[OPENINFERENCE.costTotal] = cost.total;
  if (cost.prompt !== undefined) attrs[OPENINFERENCE.costPrompt] = cost.prompt;
  if (cost.completion !== undefined) attrs[OPENINFERENCE.costCompletion] = cost.completion;
}

/** OpenInference `llm.token_count.total` = input + output on an LLM span, so Langfuse does not add the cache names twice into its total. */
export function setTokenTotal(attrs: Attributes, counts: TokenCounts): void {
  attrs[OPENINFERENCE.tokenCountTotal] = (counts.input_tokens ?? 0) + (counts.output_tokens ?? 0);
}

export interface UsageEventDetails {
  /** already redacted; only given when content capture is on */
  promptPreview?: string;
  idempotencyKey?: string;
}

/** One core_report_usage call as an `oprelay.usage.report` event on the root span. */
export function usageEvent(batch: UsageBatch, time: number, details: UsageEventDetails): StoredEvent {
  const attributes: Attributes = {};
  setTokenUsage(attributes, { input_tokens: batch.totals.input_tokens, output_tokens: batch.totals.output_tokens });
  attributes[ATTR.usageTotalTokens] = batch.totals.total_tokens;
  attributes[ATTR.usageCostUsd] = batch.totals.cost_usd;
  attributes[ATTR.usageLlmCalls] = batch.totals.llm_calls;
  setTokenUsage(attributes, reportedExtras(batch.extra));
  if (batch.model) attributes[ATTR.genAiRequestModel] = batch.model;
  if (batch.provider) attributes[ATTR.genAiProviderName] = batch.provider;
  if (batch.costSource) attributes[ATTR.usageCostSource] = batch.costSource;
  if (details.promptPreview !== undefined) attributes[ATTR.usagePromptPreview] = details.promptPreview;
  if (details.idempotencyKey) attributes[ATTR.usageIdempotencyKey] = details.idempotencyKey;
  return { name: EVENT.usageReport, time, attributes };
}
