import type { BackgroundClient } from '../background.js';
import type { TokenUsage, TraceEntry } from '../schemas/schemas.js';
import { LIMITS } from '../schemas/limits.js';

/** Token counts of one model call, in the bridge's field names; absent when the provider gave none. */
export interface CallUsage {
  input_tokens?: number;
  output_tokens?: number;
  total_tokens?: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
  reasoning_output_tokens?: number;
}

export interface CallOutcome {
  model: string;
  startedAt: number;
  endedAt: number;
  usage: CallUsage;
  finishReason?: string;
  /** set when the call failed or was aborted */
  error?: unknown;
  aborted?: boolean;
}

/** Where a call's report goes: the run, and the identity `core_record_failure` needs. */
export interface ReportTarget {
  client: BackgroundClient;
  runId: string;
  projectKey?: string;
  agentId?: string;
}

/** Errors already recorded as failures, so `withRun` does not record the same one twice. */
export const recordedErrors = new WeakSet<object>();

const clip = (text: string, max: number) => (text.length > max ? text.slice(0, max) : text);

export function describeError(error: unknown, aborted: boolean): { type: string; message: string; text: string } {
  const err = error instanceof Error ? error : undefined;
  const type = aborted ? 'AbortError' : (err?.name ?? 'Error');
  const message = err?.message ?? (error === undefined ? 'aborted' : String(error));
  return { type, message, text: err?.stack ?? `${type}: ${message}` };
}

/**
 * One model call → one `core_report_usage` (its tokens, `llm_calls: 1`, and one `chat {model}` entry with
 * its own start and end); a failed or aborted call also → one `core_record_failure`. Counted as a call
 * either way: the provider was asked, and may bill for it.
 */
export function reportCall(target: ReportTarget, outcome: CallOutcome): void {
  const failed = outcome.error !== undefined || outcome.aborted === true;
  const tokenUsage: TokenUsage = { ...outcome.usage, model: outcome.model, llm_calls: 1 };
  const entry: TraceEntry = {
    type: 'llm',
    model: outcome.model,
    ...outcome.usage,
    started_at: new Date(outcome.startedAt).toISOString(),
    ended_at: new Date(outcome.endedAt).toISOString(),
    status: failed ? 'error' : 'ok',
    ...(outcome.finishReason ? { finish_reason: outcome.finishReason } : {}),
  };
  const error = failed ? describeError(outcome.error, outcome.aborted === true) : undefined;
  if (error) entry.error = clip(`${error.type}: ${error.message}`, LIMITS.error);
  target.client.send('core_report_usage', { run_id: target.runId, token_usage: tokenUsage, traces: [entry] });
  if (!error) return;

  const identity = target.client.runIdentity(target.runId);
  const projectKey = target.projectKey ?? identity?.project_key;
  const agentId = target.agentId ?? identity?.agent_id;
  if (!projectKey || !agentId) return; // the error entry above still marks the call
  if (outcome.error !== null && typeof outcome.error === 'object') recordedErrors.add(outcome.error);
  target.client.send('core_record_failure', {
    project_key: projectKey,
    run_id: target.runId,
    agent_id: agentId,
    summary: clip(`chat ${outcome.model} ${outcome.aborted ? 'aborted' : 'failed'}: ${error.message}`, LIMITS.summary),
    error: clip(error.text, LIMITS.error),
    context: { model: outcome.model, aborted: outcome.aborted === true },
    meta: { error_type: error.type },
  });
}
