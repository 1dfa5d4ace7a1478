import type { StoreTx } from '../store/run-store.js';
import type { StoredEvent } from '../telemetry/span-record.js';
import type { RunRecord } from './model.js';

export const MAX_KEPT_REPORTS = 100;
export const MAX_ROOT_EVENTS = 128;

/** Keeps an event for the root span, or counts it as dropped past the cap. */
export async function keepEvent(tx: StoreTx, run: RunRecord, event: StoredEvent): Promise<void> {
  if (run.events_kept >= MAX_ROOT_EVENTS) {
    run.events_dropped += 1;
    return;
  }
  await tx.appendEvent(run.run_id, run.events_kept, event);
  run.events_kept += 1;
}

/** Keeps a usage report's event unless the run already holds its share of reports; counts the rest. */
export async function keepUsageReport(tx: StoreTx, run: RunRecord, makeEvent: () => StoredEvent): Promise<void> {
  run.reports += 1;
  if (run.reports > MAX_KEPT_REPORTS || run.events_kept >= MAX_ROOT_EVENTS) {
    run.reports_dropped += 1;
    return;
  }
  await keepEvent(tx, run, makeEvent());
}
