export { LIMITS } from './limits.js';
export { toolSchemas, TOOL_NAMES, RUN_STATUSES, traceEntry, tokenUsage, uuid } from './schemas.js';
export type { ToolName, ToolArgs, ToolInput, TokenUsage, TraceEntry, RunEndStatus } from './schemas.js';
export { toolResultSchemas, runViewSchema, totalsSchema } from './results.js';
export type { ToolResult, RunViewResult, Totals } from './results.js';
