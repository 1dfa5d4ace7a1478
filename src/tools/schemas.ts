import { z } from 'zod';
import { LIMITS } from './limits.js';

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const NIL_UUID = '00000000-0000-0000-0000-000000000000';

/** Any 8-4-4-4-12 hex UUID, case-insensitive, normalised to lowercase; the nil UUID is refused. */
export const uuid = z
  .string()
  .regex(UUID_RE, { message: 'must be a UUID (8-4-4-4-12 hex digits)' })
  .refine((s) => s !== NIL_UUID, { message: 'must not be the nil UUID' })
  .transform((s) => s.toLowerCase());

/** Postgres cannot store U+0000 in text, so no store accepts it: every store answers the same. */
export const NUL_MESSAGE = 'must not contain NUL characters (\\u0000)';
const hasNul = (s: string) => s.includes('\u0000');

/** A string of at most max characters, without NUL characters. */
export const text = (max: number) =>
  z
    .string({ message: 'must be a string' })
    .max(max, { message: `must be at most ${max} characters` })
    .refine((s) => !hasNul(s), { message: NUL_MESSAGE });
const requiredText = (max: number) => text(max).min(1, { message: 'must not be empty' });
const count = z
  .number({ message: 'must be a number' })
  .int({ message: 'must be a non-negative integer' })
  .nonnegative({ message: 'must be a non-negative integer' });
const cost = z.number({ message: 'must be a finite number' }).nonnegative({ message: 'must be non-negative' });

/** Depth of a JSON value: a scalar is 0, `{}` is 1, `{a:{}}` is 2. */
export function jsonDepth(value: unknown, limit: number, depth = 0): number {
  if (value === null || typeof value !== 'object') return depth;
  if (depth >= limit) return depth + 1; // already too deep, no need to look further
  let max = depth + 1;
  for (const v of Array.isArray(value) ? value : Object.values(value)) {
    max = Math.max(max, jsonDepth(v, limit, depth + 1));
    if (max > limit) break;
  }
  return max;
}

/** The path of the first string (a key or a value) holding a NUL character, or undefined; value is at most LIMITS.openObjectDepth deep. */
export function nulPath(value: unknown, path: (string | number)[] = []): (string | number)[] | undefined {
  if (typeof value === 'string') return hasNul(value) ? path : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nulPath(value[i], [...path, i]);
      if (found) return found;
    }
    return undefined;
  }
  for (const [k, v] of Object.entries(value)) {
    if (hasNul(k)) return path; // the key itself cannot be named: its object is
    const found = nulPath(v, [...path, k]);
    if (found) return found;
  }
  return undefined;
}

/** An open JSON object (meta_json, meta, context): any keys, bounded in size and depth. */
export const openObject = z.record(z.string(), z.unknown(), { message: 'must be a JSON object' }).superRefine((value, ctx) => {
  const depth = jsonDepth(value, LIMITS.openObjectDepth);
  if (depth > LIMITS.openObjectDepth) {
    ctx.addIssue({
      code: 'custom',
      message: `must be nested at most ${LIMITS.openObjectDepth} levels deep`,
      params: { limit: LIMITS.openObjectDepth },
    });
    return;
  }
  const bytes = Buffer.byteLength(JSON.stringify(value));
  if (bytes > LIMITS.openObjectBytes) {
    ctx.addIssue({
      code: 'custom',
      message: `must be at most ${LIMITS.openObjectBytes} bytes as JSON (got ${bytes})`,
      params: { limit: LIMITS.openObjectBytes },
    });
    return;
  }
  const nul = nulPath(value);
  if (nul) ctx.addIssue({ code: 'custom', path: nul, message: NUL_MESSAGE });
});

/** core_start_run's meta_json: open, but a sub-agent's `parent_run_id` must name a run by its UUID. */
const startMeta = openObject.superRefine((value, ctx) => {
  if (value.parent_run_id !== undefined && !uuid.safeParse(value.parent_run_id).success)
    ctx.addIssue({ code: 'custom', path: ['parent_run_id'], message: 'must be a run UUID (8-4-4-4-12 hex digits, not nil)' });
});

/** Epoch milliseconds of an instant (ISO 8601 text or a number). */
export const instantMs = (v: string | number): number => (typeof v === 'number' ? v : Date.parse(v));
/** Times outside these years are a unit mistake (epoch seconds, microseconds), not a real time. */
export const INSTANT_RANGE = { min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) };
export const INSTANT_RANGE_MESSAGE = 'must be a time from 2000-01-01 to 2100-01-01 (epoch milliseconds, not seconds)';
export const inInstantRange = (ms: number) => ms >= INSTANT_RANGE.min && ms < INSTANT_RANGE.max;

const instant = z
  .union([z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time' }), count], {
    message: 'must be an ISO 8601 date-time or epoch milliseconds',
  })
  .refine((v) => inInstantRange(instantMs(v)), { message: INSTANT_RANGE_MESSAGE });

/** A per-call trace entry: every field optional, unknown fields kept. */
export const traceEntry = z
  .looseObject({
    type: text(LIMITS.name).optional(),
    name: text(LIMITS.name).optional(),
    model: text(LIMITS.name).optional(),
    tool: text(LIMITS.name).optional(),
    input_tokens: count.optional(),
    output_tokens: count.optional(),
    total_tokens: count.optional(),
    cache_read_input_tokens: count.optional(),
    cache_creation_input_tokens: count.optional(),
    reasoning_output_tokens: count.optional(),
    cost_usd: cost.optional(),
    started_at: instant.optional(),
    ended_at: instant.optional(),
    duration_ms: z.number().nonnegative({ message: 'must be non-negative' }).optional(),
    status: z.enum(['ok', 'error'], { message: 'must be "ok" or "error"' }).optional(),
    error: text(LIMITS.error).optional(),
  })
  .superRefine((value, ctx) => {
    // depth first: JSON.stringify of a hostile, deeply nested entry would overflow the stack
    if (
      jsonDepth(value, LIMITS.openObjectDepth) > LIMITS.openObjectDepth ||
      Buffer.byteLength(JSON.stringify(value)) > LIMITS.openObjectBytes
    ) {
      ctx.addIssue({
        code: 'custom',
        message: `must be at most ${LIMITS.openObjectBytes} bytes as JSON and ${LIMITS.openObjectDepth} levels deep`,
        params: { limit: LIMITS.openObjectBytes },
      });
      return;
    }
    const nul = nulPath(value);
    if (nul) ctx.addIssue({ code: 'custom', path: nul, message: NUL_MESSAGE });
    if (value.started_at !== undefined && value.ended_at !== undefined && instantMs(value.ended_at) < instantMs(value.started_at))
      ctx.addIssue({ code: 'custom', path: ['ended_at'], message: 'must not be before started_at' });
  });

const traces = z
  .array(traceEntry, { message: 'must be an array of trace entries' })
  .max(LIMITS.traces, { message: `must hold at most ${LIMITS.traces} entries` });

export const tokenUsage = z.strictObject({
  input_tokens: count.optional(),
  output_tokens: count.optional(),
  total_tokens: count.optional(),
  cost_usd: cost.optional(),
  model: requiredText(LIMITS.name).optional(),
  llm_calls: count.optional(),
  prompt_preview: text(LIMITS.promptPreview).optional(),
  cache_read_input_tokens: count.optional(),
  cache_creation_input_tokens: count.optional(),
  reasoning_output_tokens: count.optional(),
});

/** A project key names a project: empty or only spaces names none. */
export const projectKey = requiredText(LIMITS.name).refine((s) => s === '' || s.trim() !== '', { message: 'must not be only spaces' });

export const RUN_STATUSES = ['completed', 'failed', 'interrupted'] as const;

export const toolSchemas = {
  core_start_run: z.strictObject({
    project_key: projectKey,
    agent_id: uuid,
    run_id: uuid.optional(),
    summary: text(LIMITS.summary).optional(),
    meta_json: startMeta.optional(),
  }),
  core_report_usage: z.strictObject({
    run_id: uuid,
    token_usage: tokenUsage,
    traces: traces.optional(),
    idempotency_key: requiredText(LIMITS.idempotencyKey).optional(),
  }),
  core_end_run: z.strictObject({
    run_id: uuid,
    status: z.enum(RUN_STATUSES, { message: 'must be one of completed, failed, interrupted' }),
    summary: text(LIMITS.summary).optional(),
    meta_json: openObject.optional(),
    token_usage: tokenUsage.optional(),
    traces: traces.optional(),
  }),
  core_record_failure: z.strictObject({
    project_key: projectKey,
    run_id: uuid,
    agent_id: uuid,
    summary: requiredText(LIMITS.summary),
    task_id: uuid.optional(),
    error: text(LIMITS.error).optional(),
    context: openObject.optional(),
    meta: openObject.optional(),
  }),
  record_run: z.strictObject({
    project_key: projectKey,
    agent: requiredText(LIMITS.agent),
    summary: requiredText(LIMITS.summary),
    ticket: text(LIMITS.ticket).optional(),
    meta_json: openObject.optional(),
  }),
} as const;

export type ToolName = keyof typeof toolSchemas;
export const TOOL_NAMES = Object.keys(toolSchemas) as ToolName[];
export type ToolArgs<T extends ToolName> = z.output<(typeof toolSchemas)[T]>;
export type ToolInput<T extends ToolName> = z.input<(typeof toolSchemas)[T]>;
export type TokenUsage = z.output<typeof tokenUsage>;
export type TraceEntry = z.output<typeof traceEntry>;
export type RunEndStatus = (typeof RUN_STATUSES)[number];

export function isToolName(name: string): name is ToolName {
  return Object.prototype.hasOwnProperty.call(toolSchemas, name);
}
