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
    const chat = operation === GEN_AI_OPERATION.chat;
    const optional: Partial<GenAiOperationEffect> = {
      model: chat ? text(a[ATTR.genAiRequestModel]) : undefined,
      provider: chat ? text(a[ATTR.genAiProviderName]) : undefined,
      tool: text(a[ATTR.genAiToolName]),
      agentName: text(a[ATTR.genAiAgentName]),
      errorType: span.status.code === STATUS_CODE.ERROR ? (text(a[ATTR.errorType]) ?? 'error') : undefined,
      inputTokens: chat ? tokens(a[ATTR.genAiUsageInputTokens]) : undefined,
      outputTokens: chat ? tokens(a[ATTR.genAiUsageOutputTokens]) : undefined,
    };
    for (const [k, v] of Object.entries(optional)) if (v !== undefined) Object.assign(effect, { [k]: v });
    effects.push(effect);
  }
  return effects;
}
