import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { readToolResultSchemas } from '../tools/read-results.js';
import { READ_TOOL_NAMES, readToolSchemas, type ReadToolName } from '../tools/read-schemas.js';
import { jsonSchemaOf } from './tool-catalog.js';

const WHEN = 'an ISO 8601 date-time (2026-01-31T09:00:00Z) or a duration back from now (90m, 24h, 7d)';
const AGENT = 'the agent name (meta_json.agent_name or record_run agent, e.g. "deployer"); an agent without a name is known by its UUID';

/**
 * What each read tool answers, worded so a model picks the right one: runs one by one (list_runs,
 * get_run), sums (usage_summary) or what went wrong (recent_failures). Every answer covers only the
 * projects of the caller's API key.
 */
const DESCRIPTIONS: Record<ReadToolName, { tool: string; params: Record<string, string> }> = {
  list_runs: {
    tool: 'List agent runs, newest first, with status, agent, tokens, cost, failure count and trace id. Use it to find runs (e.g. "which runs of deployer failed today?"); page with next_cursor. For sums over many runs use usage_summary instead.',
    params: {
      project_key: 'only runs of this project',
      status: 'running, completed, failed or interrupted',
      agent: `only runs of this agent: ${AGENT}`,
      since: `runs started at or after: ${WHEN}`,
      until: `runs started before: ${WHEN}`,
      limit: 'runs per page, 1 to 100 (default 20)',
      cursor: 'next_cursor of the previous page, to read the next one',
    },
  },
  get_run: {
    tool: 'Everything about one run: status, totals, models, every failure with its type, summary and error text, child (sub-agent) runs, usage reports over time, the trace id and the trace URL. Use it after list_runs or recent_failures named a run.',
    params: { run_id: 'the run UUID' },
  },
  usage_summary: {
    tool: 'Exact sums over runs: how many runs, failed runs, failures, input/output/total tokens, LLM calls and cost in USD, grouped by project, agent or model, for runs started in a time window. Answers "what did each agent cost today?", "which model uses the most tokens this week?". A run counts under its last model.',
    params: {
      group_by: 'project (default), agent or model',
      project_key: 'only runs of this project',
      agent: `only runs of this agent: ${AGENT}`,
      since: `runs started at or after (omit for all time): ${WHEN}`,
      until: `runs started before (omit for now): ${WHEN}`,
    },
  },
  recent_failures: {
    tool: 'The latest recorded failures, newest first: error type, summary, error text, time, and the run, project and agent they belong to. Answers "what failed in the last hour?"; open a run with get_run for its context.',
    params: {
      project_key: 'only failures of this project',
      agent: `only failures of this agent: ${AGENT}`,
      since: `failures at or after: ${WHEN}`,
      limit: 'failures to return, 1 to 100 (default 20)',
    },
  },
};

function describeReadTool(name: ReadToolName): Tool {
  const d = DESCRIPTIONS[name];
  return {
    name,
    description: d.tool,
    inputSchema: jsonSchemaOf(readToolSchemas[name], d.params),
    outputSchema: jsonSchemaOf(readToolResultSchemas[name]),
    annotations: { readOnlyHint: true, openWorldHint: false },
  };
}

/** The four read tools as tools/list answers them, built once from the zod schemas. */
export const READ_TOOL_CATALOG: readonly Tool[] = READ_TOOL_NAMES.map(describeReadTool);
