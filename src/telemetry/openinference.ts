/**
 * OpenInference attribute names (the conventions Arize Phoenix reads natively and Langfuse reads
 * for cost): project, span kind, input/output columns, metadata, session and cost.
 */
export const OPENINFERENCE = {
  projectName: 'openinference.project.name',
  spanKind: 'openinference.span.kind',
  inputValue: 'input.value',
  outputValue: 'output.value',
  metadata: 'metadata',
  sessionId: 'session.id',
  tokenCountTotal: 'llm.token_count.total',
  costTotal: 'llm.cost.total',
  costPrompt: 'llm.cost.prompt',
  costCompletion: 'llm.cost.completion',
} as const;

/** `openinference.span.kind` values the bridge uses. */
export const SPAN_KIND_OI = {
  agent: 'AGENT',
  llm: 'LLM',
  tool: 'TOOL',
  chain: 'CHAIN',
} as const;
