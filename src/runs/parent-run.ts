import { BridgeError } from '../errors.js';
import type { StoreTx } from '../store/run-store.js';
import { parseTraceparent } from '../telemetry/ids.js';
import { canSee, type CallContext } from './call-context.js';

/**
 * The trace a starting run joins: its parent run's (`meta_json.parent_run_id`, a sub-agent run
 * nests under the parent's root span), else the caller's W3C traceparent, else none (its own).
 */
export async function parentOfStart(tx: StoreTx, runId: string, project: string, meta: Record<string, unknown> | null, ctx: CallContext) {
  const parentRef = typeof meta?.parent_run_id === 'string' ? meta.parent_run_id.toLowerCase() : undefined;
  if (parentRef === runId) {
    const message = 'meta_json.parent_run_id: a run cannot be its own parent';
    throw new BridgeError('invalid_argument', message, [{ path: 'meta_json.parent_run_id', message }]);
  }
  if (!parentRef) return { traceparent: parseTraceparent(ctx.traceparent), parentRunId: null };
  const parent = await tx.getRun(parentRef);
  if (!parent || parent.project_key !== project || !canSee(ctx, parent.project_key))
    throw new BridgeError('run_not_found', `meta_json.parent_run_id: run ${parentRef} not found`);
  const traceparent = { trace_id: parent.trace_id, span_id: parent.root_span_id, trace_flags: parent.trace_flags };
  return { traceparent, parentRunId: parent.run_id };
}
