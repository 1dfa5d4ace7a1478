import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { toolResultSchemas } from '../tools/results.js';
import { TOOL_NAMES, toolSchemas, type ToolName } from '../tools/schemas.js';

/**
 * Tool and parameter descriptions: the seed reference's wording, plus what a model needs to fill them in
 * (which values are UUIDs and where they come from, what adds up and what is final).
 */
const DESCRIPTIONS: Record<ToolName, { tool: string; params: Record<string, string> }> = {
  core_start_run: {
    tool: 'Begin an execution run. Returns a run_id used for all subsequent reporting.',
    params: {
      project_key: 'Project identifier (max 128): the project your API key covers; it names the service in traces',
      agent_id:
        'Executing agent: a UUID (8-4-4-4-12 hex digits) naming this agent. Reuse the same UUID for every run of the same agent; if none was given to you, generate a random UUID once and keep it',
      run_id: 'Explicit run ID (generated if omitted): a UUID; set it only to make a retried start return the same run',
      summary: 'Intent or description (max 2000)',
      meta_json:
        'Arbitrary metadata (a JSON object, at most 16 KiB and 8 levels deep). Recognised keys: agent_name (names the trace), session_id, parent_run_id (the parent run UUID, for a sub-agent)',
    },
  },
  core_report_usage: {
    tool: 'Accumulate token usage mid-run. Adds to existing totals — safe to call multiple times per run.',
    params: {
      run_id: 'Run UUID from core_start_run',
      token_usage:
        'Usage object, added to the run totals, so send only what is new since the last report: input_tokens, output_tokens, total_tokens (defaults to input + output), cost_usd (computed from model and tokens when omitted), model (e.g. claude-opus-4), llm_calls, prompt_preview, cache_read_input_tokens, cache_creation_input_tokens, reasoning_output_tokens. Other fields are rejected',
      traces:
        'Per-call trace entries (max 200), each an object: type (llm or tool), model or tool, input_tokens, output_tokens, started_at and ended_at (ISO 8601), status (ok or error), error. They break the run down; their tokens are not added to the totals',
      idempotency_key: 'A repeated key is not counted twice: set one when the same report may be sent again',
    },
  },
  core_end_run: {
    tool: 'Close a run with final status and summary.',
    params: {
      run_id: 'Run UUID to close (from core_start_run)',
      status: 'completed, failed, or interrupted',
      summary: 'Human-readable outcome (max 2000)',
      meta_json: 'Final metadata',
      token_usage: 'Final token usage (same shape as core_report_usage): the run totals, not what is new since the last report',
      traces: 'Final trace entries (max 200)',
    },
  },
  core_record_failure: {
    tool: 'Record a structured failure event linked to a run. Used for dispatch learning and failure resolution matching.',
    params: {
      project_key: 'Project identifier',
      run_id: 'Run that produced the failure: its UUID from core_start_run',
      agent_id: 'Agent that failed: the same agent UUID as in core_start_run',
      summary: 'Short failure description (max 2000)',
      task_id: 'Associated task (a UUID)',
      error: 'Full error message or stack trace (max 8000)',
      context: 'Structured context at time of failure',
      meta: 'Arbitrary metadata',
    },
  },
  record_run: {
    tool: 'v1 run tool. Append a plain audit trail entry for an agent session. Does not require a pre-existing run ID — creates a complete record in one call.',
    params: {
      project_key: 'Project identifier',
      agent: 'Agent name or identifier (max 128)',
      summary: 'What the agent did (max 2000)',
      ticket: 'Linked ticket ID (max 64)',
      meta_json: 'Arbitrary metadata',
    },
  },
};

type ObjectSchema = Tool['inputSchema'];

/** JSON Schema of a zod object schema; `$schema` is dropped because some clients' validators reject draft 2020-12. */
export function jsonSchemaOf(schema: z.ZodType, params: Record<string, string> = {}): ObjectSchema {
  // io 'input' for results too: it leaves out `additionalProperties: false`, so newer fields do not fail old clients
  const { $schema: _ignored, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as ObjectSchema & {
    $schema?: string;
  };
  const properties = json.properties as Record<string, Record<string, unknown>> | undefined;
  for (const [name, description] of Object.entries(params)) {
    if (properties?.[name]) properties[name] = { description, ...properties[name] };
  }
  return { ...json, type: 'object' };
}

function describeTool(name: ToolName): Tool {
  const d = DESCRIPTIONS[name];
  return {
    name,
    description: d.tool,
    inputSchema: jsonSchemaOf(toolSchemas[name], d.params),
    outputSchema: jsonSchemaOf(toolResultSchemas[name]),
  };
}

/** The five tools as tools/list answers them, built once from the zod schemas. */
export const TOOL_CATALOG: readonly Tool[] = TOOL_NAMES.map(describeTool);
