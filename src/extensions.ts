import type { Extension } from './http/extension.js';
import { livePageExtension } from './http/live-page.js';
import { mcpExtension } from './mcp/mcp-server.js';

/** Feature modules mounted on the bridge's HTTP app (MCP endpoint, live runs page). */
export async function defaultExtensions(): Promise<Extension[]> {
  return [mcpExtension, livePageExtension];
}
