import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { Router } from 'express';
import type { Extension } from '../http/extension.js';
import type { Logger } from '../log.js';
import type { ToolGateway } from '../tools/gateway.js';
import { LIMITS } from '../tools/limits.js';
import { VERSION } from '../version.js';
import { ReadTools } from '../tools/read-tools.js';
import { READ_TOOL_CATALOG } from './read-tool-catalog.js';
import { TOOL_CATALOG } from './tool-catalog.js';
import { errorResult, successResult } from './tool-result.js';

const INSTRUCTIONS =
  'Every agent execution should open a run with core_start_run at the start and close it with core_end_run at the end; ' +
  'the run_id threads usage reports and failures together. Runs become OpenTelemetry traces. ' +
  'To ask about runs already recorded (cost, tokens, failures, per project, agent or model), use list_runs, get_run, usage_summary and recent_failures.';
const READ_ONLY_INSTRUCTIONS =
  'A read-only view of agent runs: list_runs and get_run for single runs, usage_summary for exact sums of runs, tokens, cost and failures, recent_failures for what went wrong.';

/**
 * The low-level `Server` with explicit tools/list and tools/call handlers, so arguments are
 * validated once, by `gateway.call`, exactly as on the HTTP surface (same codes and messages).
 */
export function createMcpServer(
  gateway: ToolGateway,
  reads: ReadTools,
  log: Logger,
  projects: readonly string[] | undefined,
  readOnly = false,
): Server {
  const instructions = readOnly ? READ_ONLY_INSTRUCTIONS : INSTRUCTIONS;
  const server = new Server({ name: 'oprelay-bridge', version: VERSION }, { capabilities: { tools: {} }, instructions });
  // a read-only key sees only the read tools; a write key both sets
  const tools = readOnly ? [...READ_TOOL_CATALOG] : [...TOOL_CATALOG, ...READ_TOOL_CATALOG];
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const { name, arguments: args, _meta } = request.params;
    const traceparent = typeof _meta?.traceparent === 'string' ? _meta.traceparent : undefined;
    try {
      if (reads.has(name)) return successResult(await reads.call(name, args ?? {}, { projects, readOnly }));
      return successResult(await gateway.call(name, args ?? {}, { projects, readOnly, traceparent }));
    } catch (err) {
      return errorResult(err, log, name);
    }
  });
  return server;
}

/** Streamable HTTP in stateless mode: a fresh server and transport per POST; GET and DELETE have nothing to serve. */
export function mcpRouter(gateway: ToolGateway, reads: ReadTools, log: Logger): Router {
  const router = Router();
  router.post('/', async (req, res) => {
    const server = createMcpServer(gateway, reads, log, req.principal?.projects, req.principal?.readOnly);
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
      maxRequestBodySize: LIMITS.bodyBytes,
    });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res);
  });
  router.all('/', (req, res) => {
    res
      .status(405)
      .set('Allow', 'POST')
      .json({
        jsonrpc: '2.0',
        error: { code: -32000, message: `Method not allowed: ${req.method} /mcp (stateless server: use POST)` },
        id: null,
      });
  });
  return router;
}

/** Mounted after the auth middleware, so bearer keys and project scoping apply to MCP as to HTTP. */
export const mcpExtension: Extension = async (parts) => [
  { path: '/mcp', handler: mcpRouter(parts.gateway, new ReadTools(parts.store, parts.service), parts.log) },
];
