import { z } from 'zod';
import { parseDuration } from '../duration.js';
import { decodeCursor } from '../store/run-store.js';
import { LIMITS } from './limits.js';
import { RUN_STATUSES, text, uuid } from './schemas.js';

/**
 * Arguments of the four read tools (list_runs, get_run, usage_summary, recent_failures), the single
 * source for MCP input schemas and for `GET /v1/usage`'s query. Times are ISO 8601 date-times or a
 * duration back from now (`24h`, `7d`), which a model gets right more often than a date.
 */

const name = text(LIMITS.name).min(1, { message: 'must not be empty' });

/** A duration with its unit: a bare number would be ambiguous with epoch milliseconds. */
const agoOf = (s: string) => (/^\d+(\.\d+)?(ms|s|m|h|d)$/.test(s) ? parseDuration(s) : undefined);

/** An instant: an ISO 8601 date-time, or a duration ago (`90m`, `24h`, `7d`); epoch ms after parsing. */
export const instant = z
  .string({ message: 'must be a string' })
  .refine((s) => agoOf(s) !== undefined || (/^\d{4}-\d\d-\d\d/.test(s) && Number.isFinite(Date.parse(s))), {
    message: 'must be an ISO 8601 date-time (2026-01-31T09:00:00Z) or a duration back from now (24h, 7d)',
  })
  .transform((s) => {
    const ago = agoOf(s);
    return ago === undefined ? Date.parse(s) : Date.now() - ago;
  });

const limit = (max: number, fallback: number) =>
  z.coerce
    .number({ message: 'must be a number' })
    .int({ message: 'must be an integer' })
    .min(1, { message: 'must be at least 1' })
    .max(max, { message: `must be at most ${max}` })
    .default(fallback);

const cursor = z
  .string({ message: 'must be a string' })
  .refine((c) => decodeCursor(c) !== undefined, { message: 'is not a cursor this API returned' });

/** since before until, when both are given */
const window = <T extends { since?: number; until?: number }>(v: T, ctx: z.RefinementCtx) => {
  if (v.since !== undefined && v.until !== undefined && v.since >= v.until)
    ctx.addIssue({ code: 'custom', path: ['until'], message: 'must be later than since' });
};

export const READ_TOOL_NAMES = ['list_runs', 'get_run', 'usage_summary', 'recent_failures'] as const;
export type ReadToolName = (typeof READ_TOOL_NAMES)[number];

export const readToolSchemas = {
  list_runs: z
    .strictObject({
      project_key: name.optional(),
      status: z.enum(['running', ...RUN_STATUSES]).optional(),
      agent: name.optional(),
      since: instant.optional(),
      until: instant.optional(),
      limit: limit(100, 20),
      cursor: cursor.optional(),
    })
    .superRefine(window),
  get_run: z.strictObject({ run_id: uuid }),
  usage_summary: z
    .strictObject({
      group_by: z.enum(['project', 'agent', 'model']).default('project'),
      project_key: name.optional(),
      agent: name.optional(),
      since: instant.optional(),
      until: instant.optional(),
    })
    .superRefine(window),
  recent_failures: z.strictObject({
    project_key: name.optional(),
    agent: name.optional(),
    since: instant.optional(),
    limit: limit(100, 20),
  }),
} as const satisfies Record<ReadToolName, z.ZodType>;

export type ReadToolArgs<T extends ReadToolName> = z.output<(typeof readToolSchemas)[T]>;

export function isReadToolName(tool: string): tool is ReadToolName {
  return (READ_TOOL_NAMES as readonly string[]).includes(tool);
}
