export { Bridge, type BridgeOptions } from './bridge.js';
export { loadConfig, ConfigError, type Config } from './config.js';
export { BridgeError, type ErrorCode } from './errors.js';
export { toolSchemas, TOOL_NAMES, type ToolName, type ToolArgs, type ToolInput } from './tools/schemas.js';
export type { RunStore } from './store/run-store.js';
export { createClient, OprelayError, type ClientOptions, type ClientErrorCode, type OprelayClient } from './client.js';
export { toolResultSchemas, runViewSchema, type ToolResult, type RunViewResult, type Totals } from './tools/results.js';
