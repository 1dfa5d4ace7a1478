/**
 * Every attribute and metric name the bridge emits, defined once.
 * `gen_ai.*` keys come from the OpenTelemetry GenAI semantic conventions registry
 * (status Development); `gen_ai.usage.cost` is the one deliberate extension.
 */
export const ATTR = {
  // OpenTelemetry semantic conventions
  serviceName: 'service.name',
  serviceNamespace: 'service.namespace',
  serviceInstanceId: 'service.instance.id',
  errorType: 'error.type',
  sessionId: 'session.id',
  exceptionType: 'exception.type',
  exceptionMessage: 'exception.message',
  exceptionStacktrace: 'exception.stacktrace',
  // GenAI semantic conventions
  genAiOperationName: 'gen_ai.operation.name',
  genAiAgentName: 'gen_ai.agent.name',
  genAiAgentId: 'gen_ai.agent.id',
  genAiConversationId: 'gen_ai.conversation.id',
  genAiRequestModel: 'gen_ai.request.model',
  genAiProviderName: 'gen_ai.provider.name',
  genAiToolName: 'gen_ai.tool.name',
  genAiUsageInputTokens: 'gen_ai.usage.input_tokens',
  genAiUsageOutputTokens: 'gen_ai.usage.output_tokens',
  genAiUsageCacheReadInputTokens: 'gen_ai.usage.cache_read.input_tokens',
  genAiUsageCacheCreationInputTokens: 'gen_ai.usage.cache_creation.input_tokens',
  genAiUsageReasoningOutputTokens: 'gen_ai.usage.reasoning.output_tokens',
  genAiUsageCost: 'gen_ai.usage.cost',
  genAiTokenType: 'gen_ai.token.type',
  // oprelay namespace
  projectKey: 'oprelay.project_key',
  runId: 'oprelay.run.id',
  runParentId: 'oprelay.run.parent_id',
  runSummary: 'oprelay.run.summary',
  runEndSummary: 'oprelay.run.end_summary',
  runStatus: 'oprelay.run.status',
  runEndReason: 'oprelay.run.end_reason',
  usageTotalTokens: 'oprelay.usage.total_tokens',
  usageCostUsd: 'oprelay.usage.cost_usd',
  usageCostSource: 'oprelay.usage.cost_source',
  usageLlmCalls: 'oprelay.usage.llm_calls',
  usageModels: 'oprelay.usage.models',
  usageFinalMismatch: 'oprelay.usage.final_mismatch',
  usageTotalMismatch: 'oprelay.usage.total_mismatch',
  usageReportsDropped: 'oprelay.usage.reports_dropped',
  usagePromptPreview: 'oprelay.usage.prompt_preview',
  usageIdempotencyKey: 'oprelay.usage.idempotency_key',
  traceCostUsd: 'oprelay.trace.cost_usd',
  traceTotalTokens: 'oprelay.trace.total_tokens',
  traceTotalMismatch: 'oprelay.trace.total_mismatch',
  traceDurationMs: 'oprelay.trace.duration_ms',
  traceDurationClamped: 'oprelay.trace.duration_clamped',
  traceError: 'oprelay.trace.error',
  failureId: 'oprelay.failure.id',
  failureContext: 'oprelay.failure.context',
  taskId: 'oprelay.task.id',
  agent: 'oprelay.agent',
  ticket: 'oprelay.ticket',
  droppedAttributes: 'oprelay.dropped.attributes',
  droppedEvents: 'oprelay.dropped.events',
  lateEndStatus: 'oprelay.late_end.status',
  lateEndSummary: 'oprelay.late_end.summary',
  exportResult: 'result',
  runEndedStatus: 'status',
  runEndedReason: 'end_reason',
} as const;

/** Prefixes for flattened open objects. */
export const PREFIX = {
  meta: 'oprelay.meta.',
  trace: 'oprelay.trace.',
} as const;

export const EVENT = {
  usageReport: 'gen_ai.usage.report',
  exception: 'exception',
} as const;

/** OpenTelemetry metric instrument names (Prometheus: dots → underscores, counters + `_total`). */
export const METRIC = {
  runsStarted: 'oprelay.runs.started',
  runsEnded: 'oprelay.runs.ended',
  runsActive: 'oprelay.runs.active',
  runsOldestActiveAge: 'oprelay.runs.oldest_active_age',
  runDuration: 'oprelay.run.duration',
  usageTokens: 'oprelay.usage.tokens',
  usageCost: 'oprelay.usage.cost',
  usageLlmCalls: 'oprelay.usage.llm_calls',
  failures: 'oprelay.failures',
  exportSpans: 'oprelay.export.spans',
  outboxDepth: 'oprelay.outbox.depth',
  outboxOldestAge: 'oprelay.outbox.oldest_age',
  budgetRemaining: 'oprelay.budget.remaining',
} as const;

export const SCOPE_NAME = 'oprelay-bridge';
export const BRIDGE_SERVICE_NAME = 'oprelay-bridge';
export const SERVICE_NAMESPACE = 'oprelay';

/** What the outbox relay can do with a span: the values of the export metric's `result` label. */
export const EXPORT_RESULTS = ['success', 'retry', 'dead_letter', 'expired', 'partial_rejected'] as const;
export type ExportResult = (typeof EXPORT_RESULTS)[number];
