import { z } from 'zod';
import type { ReadToolName } from './read-schemas.js';
import { runViewSchema, totalsSchema } from './results.js';

/** What the read tools answer: their MCP `outputSchema`s. Not strict, so fields added later do not fail older clients. */

const runItem = runViewSchema.extend({ agent: z.string().nullable() });
const when = z.string().describe('ISO 8601 date-time');

const usageGroup = z.object({
  key: z.string().nullable().describe('the project, agent or model; null for runs without one'),
  runs: z.number().int(),
  failed_runs: z.number().int(),
  failures: z.number().int(),
  input_tokens: z.number().int(),
  output_tokens: z.number().int(),
  total_tokens: z.number().int(),
  cost_usd: z.number(),
  llm_calls: z.number().int(),
});

const failure = z.object({
  failure_id: z.string(),
  at: when,
  error_type: z.string(),
  summary: z.string(),
  error: z.string().nullable(),
  task_id: z.string().nullable(),
});

export const readToolResultSchemas = {
  list_runs: z.object({ runs: z.array(runItem), next_cursor: z.string().nullable() }),
  get_run: runItem.extend({
    summary: z.string().nullable(),
    end_summary: z.string().nullable(),
    failure_log: z.array(failure),
    children: z.array(
      z.object({ run_id: z.string(), agent: z.string().nullable(), status: z.string(), started_at: when, totals: totalsSchema }),
    ),
    totals_with_children: totalsSchema,
    usage_reports: z.array(totalsSchema.extend({ at: when, kind: z.enum(['report', 'final']), model: z.string().nullable() })),
    usage_reports_total: z.number().int(),
  }),
  usage_summary: z.object({
    group_by: z.enum(['project', 'agent', 'model']),
    since: when.nullable(),
    until: when.nullable(),
    groups: z.array(usageGroup),
    totals: usageGroup.omit({ key: true }),
  }),
  recent_failures: z.object({
    failures: z.array(
      failure.extend({ run_id: z.string(), project_key: z.string(), agent: z.string().nullable(), run_status: z.string() }),
    ),
  }),
} as const satisfies Record<ReadToolName, z.ZodType>;
