import { ATTR } from '../telemetry/attributes.js';
import { GEN_AI_OPERATION } from '../telemetry/genai-conventions.js';
import { STATUS_CODE, type SpanRecord } from '../telemetry/span-record.js';
import type { GenAiOperationEffect } from './effects.js';

const OPERATIONS = new Set<string>(Object.values(GEN_AI_OPERATION));

const text = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);
const tokens = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);

/**
 * The GenAI metric effects of a committed call, read from the spans it enqueued: one per `chat`,
 * `execute_tool` and `invoke_agent` span, so the conventions' metrics count exactly what the
 * exported spans carry (the token rule of docs/architecture.md#tokens-and-cost included).
 */
export function genAiEffectsOf(spans: readonly SpanRecord[]): GenAiOperationEffect[] {
  const effects: GenAiOperationEffect[] = [];
  for (const span of spans) {
    const a = span.attributes;
    const operation = text(a[ATTR.genAiOperationName]);
    if (!operation || !OPERATIONS.has(operation)) continue;
    const effect: GenAiOperationEffect = {
      kind: 'genai_operation',
      project: span.project_key,
      operation: operation as GenAiOperationEffect['operation'],
      durationS: Math.max(0, span.end - span.start) / 1000,
      uncovered: a[ATTR.usageUncoveredBy] !== undefined,
    };
    if (operation === GEN_AI_OPERATION.chat) {
      const model = text(a[ATTR.genAiRequestModel]);
      const provider = text(a[ATTR.genAiProviderName]);
      const inputTokens = tokens(a[ATTR.genAiUsageInputTokens]);
      const outputTokens = tokens(a[ATTR.genAiUsageOutputTokens]);
      if (model !== undefined) effect.model = model;
      if (provider !== undefined) effect.provider = provider;
      if (inputTokens !== undefined) effect.inputTokens = inputTokens;
      if (outputTokens !== undefined) effect.outputTokens = outputTokens;
    }
    const tool = text(a[ATTR.genAiToolName]);
    const agentName = text(a[ATTR.genAiAgentName]);
    if (tool !== undefined) effect.tool = tool;
    if (agentName !== undefined) effect.agentName = agentName;
    if (span.status.code === STATUS_CODE.ERROR) effect.errorType = text(a[ATTR.errorType]) ?? 'error';
    effects.push(effect);
  }
  return effects;
}
