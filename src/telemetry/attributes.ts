import { GEN_AI } from './genai-conventions.js';

/**
 * Every attribute and metric name the bridge emits, defined once. `gen_ai.*` names come from
 * genai-conventions.ts (the registry version they follow), OpenInference names from openinference.ts.
 */
export const ATTR = {
  // OpenTelemetry semantic conventions
  serviceName: 'service.name',
  serviceNamespace: 'service.namespace',
  serviceInstanceId: 'service.instance.id',
  errorType: 'error.type',
  exceptionType: 'exception.type',
  exceptionMessage: 'exception.message',
  exceptionStacktrace: 'exception.stacktrace',
  // GenAI semantic conventions (genai-conventions.ts)
  genAiOperationName: GEN_AI.operationName,
  genAiAgentName: GEN_AI.agentName,
  genAiAgentId: GEN_AI.agentId,
  genAiConversationId: GEN_AI.conversationId,
  genAiRequestModel: GEN_AI.requestModel,
  genAiProviderName: GEN_AI.providerName,
  genAiToolName: GEN_AI.toolName,
  genAiUsageInputTokens: GEN_AI.usageInputTokens,
  genAiUsageOutputTokens: GEN_AI.usageOutputTokens,
  genAiUsageCacheReadInputTokens: GEN_AI.usageCacheReadInputTokens,
  genAiUsageCacheWriteInputTokens: GEN_AI.usageCacheWriteInputTokens,
  genAiUsageCacheCreationInputTokensLegacy: GEN_AI.usageCacheCreationInputTokensLegacy,
  genAiUsageReasoningOutputTokens: GEN_AI.usageReasoningOutputTokens,
  genAiTokenType: GEN_AI.tokenType,
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
  /** on a span the bridge made for usage no trace entry covers: `usage_report` or `run_totals` */
  usageUncoveredBy: 'oprelay.usage.uncovered_by',
  /** on the root: the run's LLM spans carry more tokens than its totals (entries above the usage reported) */
  usageSpansAboveTotals: 'oprelay.usage.spans_above_totals',
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
  lateEndInputTokens: 'oprelay.late_end.input_tokens',
  lateEndOutputTokens: 'oprelay.late_end.output_tokens',
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
  usageReport: 'oprelay.usage.report',
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
