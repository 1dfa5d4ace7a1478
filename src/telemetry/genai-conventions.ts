/**
 * Every `gen_ai.*` name the bridge emits, in one place, as the OpenTelemetry GenAI semantic
 * conventions registry defines it (stability: development). Followed: the registry repository
 * `open-telemetry/semantic-conventions-genai` (model/gen-ai/registry.yaml, spans.yaml, metrics.yaml
 * at commit 004902b8cb70aa5ae6ca4ae07132b7daabcd3e10), manifest schema URL
 * `https://opentelemetry.io/schemas/gen-ai-dev/1.42.0-dev`. A registry change is a diff of this file
 * (docs/architecture.md#opentelemetry-mapping lists what is emitted where and why).
 */

/** The schema URL set on every exported resource and instrumentation scope. */
export const GEN_AI_SCHEMA_URL = 'https://opentelemetry.io/schemas/gen-ai-dev/1.42.0-dev';
export const GEN_AI_REGISTRY_COMMIT = '004902b8cb70aa5ae6ca4ae07132b7daabcd3e10';

/** Span attributes (all string unless noted; token counts are int). */
export const GEN_AI = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  agentName: 'gen_ai.agent.name',
  agentId: 'gen_ai.agent.id',
  conversationId: 'gen_ai.conversation.id',
  toolName: 'gen_ai.tool.name',
  tokenType: 'gen_ai.token.type',
  usageInputTokens: 'gen_ai.usage.input_tokens',
  usageOutputTokens: 'gen_ai.usage.output_tokens',
  usageCacheReadInputTokens: 'gen_ai.usage.cache_read.input_tokens',
  /** the current name of the cache-write count */
  usageCacheWriteInputTokens: 'gen_ai.usage.cache_write.input_tokens',
  /**
   * The name before the rename, emitted beside the current one: Phoenix 20 and Langfuse 4 read
   * only this one (docs/architecture.md#renamed-attributes). Remove it once they read the new one.
   */
  usageCacheCreationInputTokensLegacy: 'gen_ai.usage.cache_creation.input_tokens',
  usageReasoningOutputTokens: 'gen_ai.usage.reasoning.output_tokens',
} as const;

/** `gen_ai.operation.name` values the bridge uses (well-known values of the registry). */
export const GEN_AI_OPERATION = {
  chat: 'chat',
  invokeAgent: 'invoke_agent',
  executeTool: 'execute_tool',
} as const;

/** `gen_ai.token.type` values. */
export const GEN_AI_TOKEN_TYPE = { input: 'input', output: 'output' } as const;

/**
 * The registry's metrics the bridge emits (all histograms). Bucket advice: the registry's docs for
 * the client metrics; the agent and tool durations carry none in the registry, so they use the
 * advice of the OpenTelemetry GenAI utility (`opentelemetry-util-genai`) and the client duration's.
 */
export const GEN_AI_METRICS = {
  clientTokenUsage: {
    name: 'gen_ai.client.token.usage',
    unit: '{token}',
    description: 'Number of input and output tokens used.',
    buckets: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864],
  },
  clientOperationDuration: {
    name: 'gen_ai.client.operation.duration',
    unit: 's',
    description: 'GenAI operation duration.',
    buckets: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
  },
  invokeAgentDuration: {
    name: 'gen_ai.invoke_agent.duration',
    unit: 's',
    description: 'The end-to-end duration of a single agent invocation.',
    buckets: [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8, 409.6],
  },
  executeToolDuration: {
    name: 'gen_ai.execute_tool.duration',
    unit: 's',
    description: 'The duration of a single tool execution.',
    buckets: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
  },
} as const;
