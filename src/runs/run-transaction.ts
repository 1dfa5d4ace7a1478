import { BridgeError } from '../errors.js';
import type { RunStore, StoreTx } from '../store/run-store.js';
import type { SpanRecord } from '../telemetry/span-record.js';
import type { CallContext } from './call-context.js';
import type { MetricEffect, MetricSink } from './effects.js';
import { genAiEffectsOf } from './genai-effects.js';
import type { RunRecord } from './model.js';
import { hashRequest } from './request-hash.js';

/** How long an Idempotency-Key's first answer is kept. */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;

/** What a tool call's state change produces: its answer, spans to enqueue, metric effects, the run to save. */
export type Outcome<R> = { result: R; spans: SpanRecord[]; effects: MetricEffect[]; run?: RunRecord };

export interface CallOptions<R> {
  tool: string;
  /** calls with the same key run one at a time */
  lockKey: string;
  /** where an Idempotency-Key is looked up (a run or a project); undefined for internal calls */
  scope: string | undefined;
  ctx: CallContext;
  /** the validated arguments: a repeated key must come with the same ones */
  request: object;
  apply: (tx: StoreTx, now: number) => Promise<Outcome<R>>;
  /** visibility check run before the idempotency look-up, so a repeat never answers another project's caller */
  guard?: (tx: StoreTx) => Promise<void>;
}

/** What a call needs around it: the store's transaction, the metrics, the clock. */
export interface CallParts {
  store: Pick<RunStore, 'transact'>;
  metrics: MetricSink;
  now: () => number;
  /** hears how many spans a call committed to the outbox */
  onSpansCommitted?: (count: number) => void;
}

/** A key seen before with other arguments: answering the first call's result would lose the new data. */
function keyReused(tool: string, ctx: CallContext): BridgeError {
  const name = ctx.idempotencyKeyName ?? 'Idempotency-Key';
  const message = `${name} "${ctx.idempotencyKey}" was already used for another ${tool} request in the last 24 h; send new data under a new key`;
  return new BridgeError('idempotency_key_reused', message, [{ path: name, message }]);
}

/** One transaction: idempotency look-up, the state change, its spans; effects applied after commit. */
export async function callInTransaction<R extends object>(parts: CallParts, options: CallOptions<R>): Promise<R & { duplicate?: true }> {
  const { tool, lockKey, scope, ctx, request, apply, guard } = options;
  const idemScope = ctx.idempotencyKey ? `${tool}:${scope}:${ctx.idempotencyKey}` : undefined;
  const requestHash = idemScope ? hashRequest(request) : null;
  const out = await parts.store.transact(lockKey, async (tx) => {
    const now = parts.now();
    if (guard) await guard(tx);
    if (idemScope) {
      const seen = await tx.getIdempotent(idemScope, now - IDEMPOTENCY_TTL_MS);
      if (seen !== undefined) {
        if (seen.request_hash !== null && seen.request_hash !== requestHash) throw keyReused(tool, ctx);
        return { result: { ...(seen.response as R), duplicate: true as const }, spans: [], effects: [] };
      }
    }
    const outcome = await apply(tx, now);
    if (outcome.run) await tx.saveRun(outcome.run);
    if (outcome.spans.length) await tx.enqueue(outcome.spans, now);
    if (idemScope) await tx.putIdempotent(idemScope, { response: outcome.result, request_hash: requestHash }, now);
    return outcome;
  });
  if (out.spans.length) parts.onSpansCommitted?.(out.spans.length);
  const effects = [...out.effects, ...genAiEffectsOf(out.spans)];
  if (effects.length) parts.metrics.apply(effects);
  return out.result as R & { duplicate?: true };
}
