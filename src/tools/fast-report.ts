import { z } from 'zod';
import { LIMITS } from './limits.js';
import { inInstantRange, instantMs, type ToolArgs } from './schemas.js';

/**
 * A fast path for the hottest call, `core_report_usage`, in front of its zod schema (which stays
 * the definition): it accepts only plain, well-formed arguments and answers exactly what the
 * schema would; for anything else — an unknown or odd field, a value it is unsure of — it answers
 * undefined and the schema decides, with its error messages. test/fast-report.test.ts checks
 * against the schema, on generated inputs, that every answer it gives is the schema's answer.
 */

type Check = (v: unknown) => boolean;

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const NIL_UUID = '00000000-0000-0000-0000-000000000000';
const isoInstant = z.iso.datetime({ offset: true });

const text =
  (max: number, min = 0): Check =>
  (v) =>
    typeof v === 'string' && v.length >= min && v.length <= max && !v.includes('\u0000');
const count: Check = (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const nonNegative: Check = (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const instant: Check = (v) =>
  (count(v) || (typeof v === 'string' && isoInstant.safeParse(v).success)) && inInstantRange(instantMs(v as string | number));
const status: Check = (v) => v === 'ok' || v === 'error';

const USAGE: Record<string, Check> = {
  input_tokens: count,
  output_tokens: count,
  total_tokens: count,
  cost_usd: nonNegative,
  model: text(LIMITS.name, 1),
  llm_calls: count,
  prompt_preview: text(LIMITS.promptPreview),
  cache_read_input_tokens: count,
  cache_creation_input_tokens: count,
  reasoning_output_tokens: count,
};

const ENTRY: Record<string, Check> = {
  type: text(LIMITS.name),
  name: text(LIMITS.name),
  model: text(LIMITS.name),
  tool: text(LIMITS.name),
  input_tokens: count,
  output_tokens: count,
  total_tokens: count,
  cache_read_input_tokens: count,
  cache_creation_input_tokens: count,
  reasoning_output_tokens: count,
  cost_usd: nonNegative,
  started_at: instant,
  ended_at: instant,
  duration_ms: nonNegative,
  status,
  error: text(LIMITS.error),
};

const has = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

function plainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Every key known and every value passing its check; a copy with the same keys. */
function fields(v: unknown, checks: Record<string, Check>): Record<string, unknown> | undefined {
  if (!plainObject(v)) return undefined;
  const out: Record<string, unknown> = {};
  for (const k in v) {
    if (!has(checks, k) || !checks[k](v[k])) return undefined;
    out[k] = v[k];
  }
  return out;
}

/** A trace entry of known fields only is one level deep; its JSON size is checked only when it could matter. */
function entry(v: unknown): Record<string, unknown> | undefined {
  const out = fields(v, ENTRY);
  if (!out) return undefined;
  if (
    out.started_at !== undefined &&
    out.ended_at !== undefined &&
    instantMs(out.ended_at as string | number) < instantMs(out.started_at as string | number)
  )
    return undefined;
  let chars = 0;
  for (const k in out) chars += typeof out[k] === 'string' ? (out[k] as string).length : 0;
  // each character is at most 6 bytes in JSON ("\u0000"); keys and numbers stay far below 2 KiB
  if (chars * 6 + 2048 > LIMITS.openObjectBytes && Buffer.byteLength(JSON.stringify(out)) > LIMITS.openObjectBytes) return undefined;
  return out;
}

export function fastReportUsage(args: unknown): ToolArgs<'core_report_usage'> | undefined {
  if (!plainObject(args)) return undefined;
  let runId: string | undefined;
  let usage: Record<string, unknown> | undefined;
  let traces: Record<string, unknown>[] | undefined;
  let idem: string | undefined;
  for (const k in args) {
    const v = args[k];
    if (k === 'run_id') {
      if (typeof v !== 'string' || !UUID_RE.test(v) || v === NIL_UUID) return undefined;
      runId = v.toLowerCase();
    } else if (k === 'token_usage') {
      if (!(usage = fields(v, USAGE))) return undefined;
    } else if (k === 'traces') {
      if (!Array.isArray(v) || v.length > LIMITS.traces) return undefined;
      traces = [];
      for (const e of v) {
        const out = entry(e);
        if (!out) return undefined;
        traces.push(out);
      }
    } else if (k === 'idempotency_key') {
      if (!text(LIMITS.idempotencyKey, 1)(v)) return undefined;
      idem = v as string;
    } else return undefined;
  }
  if (runId === undefined || usage === undefined) return undefined;
  return {
    run_id: runId,
    token_usage: usage,
    ...(traces ? { traces } : {}),
    ...(idem !== undefined ? { idempotency_key: idem } : {}),
  } as ToolArgs<'core_report_usage'>;
}
