import type { Attributes } from '@opentelemetry/api';
import type { GenAiOperationEffect } from '../runs/effects.js';
import { ATTR } from './attributes.js';
import { GEN_AI, GEN_AI_METRICS, GEN_AI_TOKEN_TYPE } from './genai-conventions.js';
import type { LabelCap } from './label-cap.js';
import { seriesKey as key, type HistogramTable, type PreAggregatedMetrics } from './pre-aggregated-metrics.js';

/**
 * The GenAI conventions' metrics beside the `oprelay.*` series (docs/architecture.md#metrics):
 * `gen_ai.client.token.usage` and `gen_ai.client.operation.duration` per `chat` span,
 * `gen_ai.execute_tool.duration` per tool span, `gen_ai.invoke_agent.duration` per run root.
 * Labels are the registry's attributes plus `oprelay.project_key`, every free-text value capped.
 */
export class GenAiMetrics {
  private readonly tokenUsage: HistogramTable;
  private readonly operationDuration: HistogramTable;
  private readonly agentDuration: HistogramTable;
  private readonly toolDuration: HistogramTable;

  constructor(
    tables: PreAggregatedMetrics,
    private readonly cap: LabelCap,
  ) {
    const histogram = (m: (typeof GEN_AI_METRICS)[keyof typeof GEN_AI_METRICS]) =>
      tables.histogram({ name: m.name, description: m.description, unit: m.unit }, m.buckets);
    this.tokenUsage = histogram(GEN_AI_METRICS.clientTokenUsage);
    this.operationDuration = histogram(GEN_AI_METRICS.clientOperationDuration);
    this.agentDuration = histogram(GEN_AI_METRICS.invokeAgentDuration);
    this.toolDuration = histogram(GEN_AI_METRICS.executeToolDuration);
  }

  private capped(label: string, value: string | undefined): string | undefined {
    return value === undefined ? undefined : this.cap.value(label, value);
  }

  record(e: GenAiOperationEffect, project: string): void {
    const now = Date.now();
    const base: Attributes = { [ATTR.projectKey]: project, [GEN_AI.operationName]: e.operation };
    const error = this.capped(ATTR.errorType, e.errorType);
    const withError = (a: Attributes): Attributes => (error === undefined ? a : { ...a, [ATTR.errorType]: error });
    if (e.operation === 'chat') {
      const provider = this.capped(GEN_AI.providerName, e.provider);
      const model = this.capped(GEN_AI.requestModel, e.model);
      const chat = (): Attributes => ({
        ...base,
        ...(provider === undefined ? {} : { [GEN_AI.providerName]: provider }),
        ...(model === undefined ? {} : { [GEN_AI.requestModel]: model }),
      });
      const chatKey = key(project, provider, model);
      const tokens = (type: string) => (): Attributes => ({ ...chat(), [GEN_AI.tokenType]: type });
      if (e.inputTokens !== undefined)
        this.tokenUsage.record(e.inputTokens, key(chatKey, GEN_AI_TOKEN_TYPE.input), tokens(GEN_AI_TOKEN_TYPE.input), now);
      if (e.outputTokens !== undefined)
        this.tokenUsage.record(e.outputTokens, key(chatKey, GEN_AI_TOKEN_TYPE.output), tokens(GEN_AI_TOKEN_TYPE.output), now);
      // a span for uncovered usage stands for many calls: its duration is no operation's
      if (!e.uncovered) this.operationDuration.record(e.durationS, key(chatKey, error), () => withError(chat()), now);
    } else if (e.operation === 'execute_tool') {
      const tool = this.capped(GEN_AI.toolName, e.tool);
      const attributes = () => withError(tool === undefined ? base : { ...base, [GEN_AI.toolName]: tool });
      this.toolDuration.record(e.durationS, key(project, tool, error), attributes, now);
    } else {
      const agent = this.capped(GEN_AI.agentName, e.agentName);
      const attributes = () => withError(agent === undefined ? base : { ...base, [GEN_AI.agentName]: agent });
      this.agentDuration.record(e.durationS, key(project, agent, error), attributes, now);
    }
  }
}
