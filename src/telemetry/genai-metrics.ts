import type { Attributes, Histogram, Meter } from '@opentelemetry/api';
import type { GenAiOperationEffect } from '../runs/effects.js';
import { ATTR } from './attributes.js';
import { GEN_AI, GEN_AI_METRICS, GEN_AI_TOKEN_TYPE } from './genai-conventions.js';
import type { LabelCap } from './label-cap.js';

/**
 * The GenAI conventions' metrics beside the `oprelay.*` series (docs/architecture.md#metrics):
 * `gen_ai.client.token.usage` and `gen_ai.client.operation.duration` per `chat` span,
 * `gen_ai.execute_tool.duration` per tool span, `gen_ai.invoke_agent.duration` per run root.
 * Labels are the registry's attributes plus `oprelay.project_key`, every free-text value capped.
 */
export class GenAiMetrics {
  private readonly tokenUsage: Histogram;
  private readonly operationDuration: Histogram;
  private readonly agentDuration: Histogram;
  private readonly toolDuration: Histogram;

  constructor(
    meter: Meter,
    private readonly cap: LabelCap,
  ) {
    const histogram = (m: (typeof GEN_AI_METRICS)[keyof typeof GEN_AI_METRICS]) =>
      meter.createHistogram(m.name, { description: m.description, unit: m.unit, advice: { explicitBucketBoundaries: [...m.buckets] } });
    this.tokenUsage = histogram(GEN_AI_METRICS.clientTokenUsage);
    this.operationDuration = histogram(GEN_AI_METRICS.clientOperationDuration);
    this.agentDuration = histogram(GEN_AI_METRICS.invokeAgentDuration);
    this.toolDuration = histogram(GEN_AI_METRICS.executeToolDuration);
  }

  private capped(label: string, value: string | undefined): Attributes {
    return value === undefined ? {} : { [label]: this.cap.value(label, value) };
  }

  record(e: GenAiOperationEffect, project: string): void {
    const base: Attributes = { [ATTR.projectKey]: project, [GEN_AI.operationName]: e.operation };
    const error = this.capped(ATTR.errorType, e.errorType);
    if (e.operation === 'chat') {
      const a = { ...base, ...this.capped(GEN_AI.providerName, e.provider), ...this.capped(GEN_AI.requestModel, e.model) };
      if (e.inputTokens !== undefined) this.tokenUsage.record(e.inputTokens, { ...a, [GEN_AI.tokenType]: GEN_AI_TOKEN_TYPE.input });
      if (e.outputTokens !== undefined) this.tokenUsage.record(e.outputTokens, { ...a, [GEN_AI.tokenType]: GEN_AI_TOKEN_TYPE.output });
      // a span for uncovered usage stands for many calls: its duration is no operation's
      if (!e.uncovered) this.operationDuration.record(e.durationS, { ...a, ...error });
    } else if (e.operation === 'execute_tool') {
      this.toolDuration.record(e.durationS, { ...base, ...this.capped(GEN_AI.toolName, e.tool), ...error });
    } else {
      this.agentDuration.record(e.durationS, { ...base, ...this.capped(GEN_AI.agentName, e.agentName), ...error });
    }
  }
}
