export { createClient, type CallOptions, type ClientOptions, type OprelayClient } from './client.js';
export {
  createBackgroundClient,
  type BackgroundClient,
  type BackgroundOptions,
  type BackgroundStats,
  type QueuedCall,
  type RunIdentity,
} from './background.js';
export { OprelayError, isRetryable, BRIDGE_ERROR_CODES, type BridgeErrorCode, type ClientErrorCode, type ErrorDetail } from './errors.js';
export type { ToolInput, ToolName, ToolArgs, TokenUsage, TraceEntry, RunEndStatus } from './schemas/schemas.js';
export type { RunViewResult, ToolResult, Totals } from './schemas/results.js';
