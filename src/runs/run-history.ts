import type { FailureEntry, RunRecord, Totals, UsageEntry } from './model.js';

/** A run keeps its last failures and first usage reports in its document, for get_run and the run page. */
export const MAX_KEPT_FAILURES = 50;
export const MAX_KEPT_USAGE = 100;

/** Records a failure on the run: its count, the last type and summary, and the entry in the log. */
export function noteFailure(run: RunRecord, entry: FailureEntry): void {
  run.failures += 1;
  run.last_error_type = entry.error_type;
  run.last_failure_summary = entry.summary;
  const log = (run.failure_log ??= []);
  log.push(entry);
  if (log.length > MAX_KEPT_FAILURES) log.splice(0, log.length - MAX_KEPT_FAILURES);
}

/** Records a usage report (or the end call's final usage) on the run's timeline, while there is room. */
export function noteUsage(run: RunRecord, at: number, kind: UsageEntry['kind'], model: string | null, totals: Totals): void {
  const log = (run.usage_log ??= []);
  if (log.length < MAX_KEPT_USAGE) log.push({ at, kind, model, ...totals });
}
