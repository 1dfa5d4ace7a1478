import type { StoreTx } from '../store/run-store.js';
import type { FailureEntry, RunRecord, Totals, UsageEntry } from './model.js';

/**
 * A run keeps its last failures in its document and its first usage reports in the store's usage
 * timeline (kept apart from the document, so a long run's reports do not make every call parse
 * and write a bigger document), for get_run and the run page.
 */
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
export async function noteUsage(
  tx: Pick<StoreTx, 'appendUsage'>,
  run: RunRecord,
  at: number,
  kind: UsageEntry['kind'],
  model: string | null,
  totals: Totals,
): Promise<void> {
  const seq = run.usage_logged ?? 0;
  if (seq >= MAX_KEPT_USAGE) return;
  await tx.appendUsage(run.run_id, seq, { at, kind, model, ...totals });
  run.usage_logged = seq + 1;
}
