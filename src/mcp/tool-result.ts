import { randomUUID } from 'node:crypto';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { BridgeError } from '../errors.js';
import type { Logger } from '../log.js';

/** A tool's answer: the result as `structuredContent` plus the same JSON as text for clients that only read text. */
export function successResult(result: object): CallToolResult {
  return {
    content: [{ type: 'text', text: JSON.stringify(result) }],
    structuredContent: result as Record<string, unknown>,
  };
}

/**
 * A tool's error, shaped like the HTTP body `{"error": {...}}`. No `structuredContent`: the SDK
 * client validates it against the tool's `outputSchema` even on errors (docs/architecture.md#errors).
 */
export function errorResult(err: unknown, log: Logger, tool: string): CallToolResult {
  let body: object;
  if (err instanceof BridgeError) {
    body = err.toBody();
  } else {
    const correlationId = randomUUID();
    log.error('internal error', {
      correlation_id: correlationId,
      path: '/mcp',
      tool,
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
    body = { error: { code: 'internal', message: `internal error (correlation id ${correlationId})`, correlation_id: correlationId } };
  }
  return { isError: true, content: [{ type: 'text', text: JSON.stringify(body) }] };
}
