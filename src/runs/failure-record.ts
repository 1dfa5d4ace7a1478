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
    summary,
    error: error ?? null,
    task_id: args.task_id ?? null,
  };
  return { failureId, errorType, event, entry };
}
