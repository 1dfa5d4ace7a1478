import { randomUUID } from 'node:crypto';
import { redactText, redactValue } from '../telemetry/redact.js';
import { errorTypeOf, failureEvent } from '../telemetry/run-spans.js';
import type { ToolArgs } from '../tools/schemas.js';
import type { FailureEntry } from './model.js';

/**
 * A `core_record_failure` call as the run will keep it: a new failure id, the error type (derived
 * from redacted text only, since it becomes a span attribute and a metric label) and the
 * `exception` event, with every text redacted and the error dropped unless content is captured.
 */
export function failureRecord(args: ToolArgs<'core_record_failure'>, captureContent: boolean, now: number) {
  const failureId = randomUUID();
  const meta = args.meta ? redactValue(args.meta) : undefined;
  const errorType = errorTypeOf(args.error === undefined ? undefined : redactText(args.error), meta);
  const summary = redactText(args.summary);
  const error = captureContent && args.error !== undefined ? redactText(args.error) : undefined;
  const event = failureEvent(
    {
      failure_id: failureId,
      error_type: errorType,
      summary,
      error,
      task_id: args.task_id,
      context: args.context ? redactValue(args.context) : undefined,
      meta,
    },
    now,
  );
  const entry: FailureEntry = {
    failure_id: failureId,
    at: now,
    error_type: errorType,
    summary: summaryAfterType(summary, errorType),
    error: error ?? null,
    task_id: args.task_id ?? null,
  };
  return { failureId, errorType, event, entry };
}

/**
 * The failure's summary without a leading `Type: ` that repeats its error type: clients write
 * `DeployError: kubectl apply exited 1` with `error_type` DeployError (or the traceback's
 * `deploy.DeployError`), and the live pages show `type: summary`, which then names it once.
 */
export function summaryAfterType(summary: string, errorType: string): string {
  const short = errorType.slice(errorType.lastIndexOf('.') + 1);
  for (const prefix of new Set([errorType, short]))
    if (prefix && summary.startsWith(`${prefix}: `) && summary.length > prefix.length + 2) return summary.slice(prefix.length + 2);
  return summary;
}
