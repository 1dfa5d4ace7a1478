import type { CallContext } from '../runs/call-context.js';
import { RunQueries, type QueryStore } from '../runs/run-queries.js';
import type { RunViews } from '../runs/run-views.js';
import { isReadToolName, readToolSchemas, type ReadToolArgs, type ReadToolName } from './read-schemas.js';
import { invalidArgument, toDetails } from './validate.js';

/** Validates a read tool's arguments with its schema (the same error details as every other tool). */
export function parseReadArgs<T extends ReadToolName>(tool: T, args: unknown): ReadToolArgs<T> {
  if (args === null || typeof args !== 'object' || Array.isArray(args))
    throw invalidArgument([{ path: 'body', message: 'body: must be a JSON object with the tool arguments' }]);
  const parsed = readToolSchemas[tool].safeParse(args);
  if (!parsed.success) throw invalidArgument(toDetails(parsed.error.issues, args));
  return parsed.data as ReadToolArgs<T>;
}

/** The read tools: name → schema → one store query, limited to the caller's projects. Read-only keys may call them. */
export async function callReadTool(queries: RunQueries, name: ReadToolName, args: unknown, ctx: CallContext): Promise<object> {
  switch (name) {
    case 'list_runs':
      return queries.listRuns(parseReadArgs(name, args), ctx);
    case 'get_run':
      return queries.getRun(parseReadArgs(name, args).run_id, ctx);
    case 'usage_summary':
      return queries.usageSummary(parseReadArgs(name, args), ctx);
    case 'recent_failures':
      return queries.recentFailures(parseReadArgs(name, args), ctx);
  }
}

/** The read tools over a store, for a transport: `call` answers a tool call, `queries` the same questions for HTTP. */
export class ReadTools {
  readonly queries: RunQueries;
  constructor(store: QueryStore, views: Pick<RunViews, 'view'>) {
    this.queries = new RunQueries(store, views);
  }

  /** Whether the name is a read tool's. */
  has(name: string): name is ReadToolName {
    return isReadToolName(name);
  }

  call(name: ReadToolName, args: unknown, ctx: CallContext): Promise<object> {
    return callReadTool(this.queries, name, args, ctx);
  }
}
