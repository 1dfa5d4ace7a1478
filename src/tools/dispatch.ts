import { BridgeError } from '../errors.js';
import type { CallContext, RunService } from '../runs/run-service.js';
import { isToolName, type ToolName } from './schemas.js';
import { parseToolArgs } from './validate.js';

/** The one path every transport takes: name → schema validation → run service. */
export async function callTool(service: RunService, name: string, args: unknown, ctx: CallContext): Promise<object> {
  if (!isToolName(name)) throw new BridgeError('unknown_tool', `unknown tool "${name}"`);
  return runTool(service, name, args, ctx);
}

async function runTool(service: RunService, name: ToolName, args: unknown, ctx: CallContext): Promise<object> {
  switch (name) {
    case 'core_start_run':
      return service.startRun(parseToolArgs(name, args), ctx);
    case 'core_report_usage':
      return service.reportUsage(parseToolArgs(name, args), ctx);
    case 'core_end_run':
      return service.endRun(parseToolArgs(name, args), ctx);
    case 'core_record_failure':
      return service.recordFailure(parseToolArgs(name, args), ctx);
    case 'record_run':
      return service.recordRun(parseToolArgs(name, args), ctx);
  }
}
