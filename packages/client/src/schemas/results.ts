// Generated from src/tools/results.ts by `npm run generate:client-schemas`: edit the source, not this copy.
import { z } from 'zod';
import { RUN_STATUSES, type ToolName } from './schemas.js';

/**
 * What each tool answers (docs/architecture.md#tools-and-results), one zod schema per tool: the MCP `outputSchema`s and the
 * typed client's result types come from here. Objects are not strict, so a field added later
 * does not break clients validating against an older schema.
 */

export const totalsSchema = z.object({
  input_tokens: z.number().int().nonnegative(),
  output_tokens: z.number().int().nonnegative(),
  total_tokens: z.number().int().nonnegative(),
  cost_usd: z.number().nonnegative(),
  llm_calls: z.number().int().nonnegative(),
});

/** Present when an `Idempotency-Key` repeat returned the first answer. */
const duplicate = z.literal(true).optional();
const traceId = z.string().regex(/^[0-9a-f]{32}$/);
const traceUrl = z.string().optional();

export const toolResultSchemas = {
  core_start_run: z.object({
    run_id: z.string(),
    trace_id: traceId,
    traceparent: z.string(),
    trace_url: traceUrl,
    duplicate,
  }),
  core_report_usage: z.object({
    run_id: z.string(),
    totals: totalsSchema,
    duplicate,
  }),
  core_end_run: z.object({
    run_id: z.string(),
    status: z.enum(RUN_STATUSES),
    totals: totalsSchema,
    trace_id: traceId,
    trace_url: traceUrl,
    already_ended: z.literal(true).optional(),
    reaped: z.literal(true).optional(),
    duplicate,
  }),
  core_record_failure: z.object({
    failure_id: z.string(),
    run_id: z.string(),
    trace_id: traceId,
    duplicate,
  }),
  record_run: z.object({
    run_id: z.string(),
    trace_id: traceId,
    duplicate,
  }),
} as const satisfies Record<ToolName, z.ZodType>;

export type ToolResult<T extends ToolName> = z.output<(typeof toolResultSchemas)[T]>;
export type Totals = z.output<typeof totalsSchema>;

/** `GET /v1/runs/{run_id}`. */
export const runViewSchema = z.object({
  run_id: z.string(),
  project_key: z.string(),
  agent_id: z.string().nullable(),
  status: z.enum(['running', ...RUN_STATUSES]),
  started_at: z.string(),
  ended_at: z.string().nullable(),
  totals: totalsSchema,
  models: z.array(z.string()),
  failures: z.number().int().nonnegative(),
  trace_id: traceId,
  trace_url: traceUrl,
  parent_run_id: z.string().nullable().optional(),
  session_id: z.string().nullable().optional(),
  end_reason: z.string().nullable().optional(),
  children: z.array(z.string()).optional(),
  totals_with_children: totalsSchema.optional(),
});

export type RunViewResult = z.output<typeof runViewSchema>;
