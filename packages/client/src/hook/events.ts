import { randomUUID } from 'node:crypto';
import { LIMITS } from '../schemas/limits.js';
import type { TraceEntry } from '../schemas/schemas.js';
import { gitBranch } from './git-branch.js';
import type { HookPayload } from './payload.js';
import { newState, type SessionState } from './session-state.js';
import type { HookSettings } from './settings.js';
import type { SpooledCall } from './spool.js';
import { readAssistantMessages, type MessageUsage } from './transcript.js';

/** SessionEnd reasons that end a session normally; any other ends its run `interrupted`. */
export const NORMAL_END_REASONS: readonly string[] = ['clear', 'logout', 'prompt_input_exit', 'other'];

const clip = (text: string, max: number) => (text.length > max ? text.slice(0, max) : text);
const textOf = (v: unknown) => (typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v));

export interface HookOutcome {
  calls: SpooledCall[];
  state: SessionState;
  /** false when the event left the state as it was: parallel tool hooks then do not write it over each other */
  stateChanged: boolean;
}

function call(tool: SpooledCall['tool'], args: Record<string, unknown>, key: string = randomUUID()): SpooledCall {
  return { tool, args, key };
}

function startCall(state: SessionState, payload: HookPayload, previousRun?: string): SpooledCall {
  const source = payload.hook_event_name === 'SessionStart' ? payload.source : undefined;
  const model = payload.hook_event_name === 'SessionStart' ? payload.model : undefined;
  const branch = gitBranch(payload.cwd);
  const meta: Record<string, unknown> = { agent_name: 'claude-code', session_id: state.session_id };
  if (payload.cwd) meta.cwd = clip(payload.cwd, 1024);
  if (branch) meta.git_branch = clip(branch, 256);
  if (source) meta.source = clip(source, 64);
  if (model) meta.model = clip(model, LIMITS.name);
  if (previousRun) meta.resumed_from_run_id = previousRun;
  return call(
    'core_start_run',
    {
      project_key: state.project_key,
      agent_id: state.agent_id,
      run_id: state.run_id,
      summary: `Claude Code session${source ? ` (${source})` : ''}`,
      meta_json: meta,
    },
    `start:${state.run_id}`,
  );
}

/** New assistant messages since the last report, counted into the state; each message id once per session. */
function collectUsage(state: SessionState, payload: HookPayload): MessageUsage[] {
  const path = payload.transcript_path;
  if (!path) return [];
  const offset = state.transcript_path === path ? state.transcript_offset : 0;
  const { messages, offset: next } = readAssistantMessages(path, offset);
  state.transcript_path = path;
  state.transcript_offset = next;
  const counted = new Set(state.counted);
  const fresh = messages.filter((m) => !counted.has(m.id));
  for (const m of fresh) {
    state.counted.push(m.id);
    state.totals.input_tokens += m.input_tokens;
    state.totals.output_tokens += m.output_tokens;
    state.totals.cache_read_input_tokens += m.cache_read_input_tokens;
    state.totals.cache_creation_input_tokens += m.cache_creation_input_tokens;
    state.totals.llm_calls += 1;
    state.last_model = m.model;
  }
  return fresh;
}

/** One core_report_usage per model (token_usage names one model), its messages as `chat {model}` entries. */
function usageCalls(state: SessionState, messages: MessageUsage[]): SpooledCall[] {
  const byModel = new Map<string, MessageUsage[]>();
  for (const m of messages) byModel.set(m.model, [...(byModel.get(m.model) ?? []), m]);
  const calls: SpooledCall[] = [];
  for (const [model, group] of byModel) {
    for (let i = 0; i < group.length; i += LIMITS.traces) {
      const batch = group.slice(i, i + LIMITS.traces);
      const sum = (field: keyof MessageUsage) => batch.reduce((n, m) => n + (m[field] as number), 0);
      const traces: TraceEntry[] = batch.map((m) => ({
        type: 'llm',
        model,
        input_tokens: m.input_tokens,
        output_tokens: m.output_tokens,
        cache_read_input_tokens: m.cache_read_input_tokens,
        cache_creation_input_tokens: m.cache_creation_input_tokens,
        ...(m.timestamp ? { ended_at: m.timestamp } : {}),
        message_id: m.id,
      }));
      const key = `usage:${state.run_id}:${batch[0].id}`;
      calls.push(
        call(
          'core_report_usage',
          {
            run_id: state.run_id,
            token_usage: {
              input_tokens: sum('input_tokens'),
              output_tokens: sum('output_tokens'),
              cache_read_input_tokens: sum('cache_read_input_tokens'),
              cache_creation_input_tokens: sum('cache_creation_input_tokens'),
              model,
              llm_calls: batch.length,
            },
            traces,
            idempotency_key: key,
          },
          key,
        ),
      );
    }
  }
  return calls;
}

/**
 * One hook event → the tool calls it stands for, and the session's next state. A session seen for the
 * first time (or resumed after it ended) starts its run first, so no event is lost to a missed SessionStart.
 */
export function callsForEvent(settings: HookSettings, payload: HookPayload, previous: SessionState | undefined): HookOutcome {
  const calls: SpooledCall[] = [];
  let state: SessionState;
  if (!previous || previous.ended) {
    const generation = previous ? previous.generation + 1 : 0;
    state = newState(payload.session_id, generation, settings.projectKey, settings.agentId, previous?.counted);
    if (previous) {
      state.transcript_path = previous.transcript_path;
      state.transcript_offset = previous.transcript_offset;
    }
    calls.push(startCall(state, payload, previous?.run_id));
  } else {
    state = { ...previous, counted: [...previous.counted], totals: { ...previous.totals } };
    if (payload.hook_event_name === 'SessionStart') calls.push(startCall(state, payload)); // resumed or compacted: same run, idempotent
  }
  const now = new Date().toISOString();

  switch (payload.hook_event_name) {
    case 'SessionStart':
      break;
    case 'PostToolUse':
    case 'PostToolUseFailure': {
      const failed = payload.hook_event_name === 'PostToolUseFailure';
      const entry: TraceEntry = {
        type: 'tool',
        tool: clip(payload.tool_name, LIMITS.name),
        ended_at: now,
        status: failed ? 'error' : 'ok',
      };
      if (payload.tool_use_id) entry.tool_use_id = clip(payload.tool_use_id, 128);
      if (failed) {
        entry.error = clip(textOf(payload.error) || 'tool call failed', LIMITS.error);
        if (payload.is_interrupt) entry.interrupted = true;
      }
      calls.push(call('core_report_usage', { run_id: state.run_id, token_usage: {}, traces: [entry] }));
      break;
    }
    case 'Stop':
    case 'StopFailure': {
      calls.push(...usageCalls(state, collectUsage(state, payload)));
      if (payload.hook_event_name === 'StopFailure') {
        const type = payload.error_type || 'unknown';
        const message = payload.error_message || textOf(payload.error) || type;
        calls.push(
          call('core_record_failure', {
            project_key: state.project_key,
            run_id: state.run_id,
            agent_id: state.agent_id,
            summary: clip(`Claude Code turn failed: ${type}`, LIMITS.summary),
            error: clip(message, LIMITS.error),
            meta: { error_type: clip(type, 128) },
          }),
        );
      }
      break;
    }
    case 'SessionEnd': {
      calls.push(...usageCalls(state, collectUsage(state, payload)));
      const reason = payload.reason || 'other';
      const t = state.totals;
      calls.push(
        call(
          'core_end_run',
          {
            run_id: state.run_id,
            status: NORMAL_END_REASONS.includes(reason) ? 'completed' : 'interrupted',
            summary: clip(`Claude Code session ended (${reason})`, LIMITS.summary),
            meta_json: { end_reason: clip(reason, 64) },
            token_usage: { ...t, total_tokens: t.input_tokens + t.output_tokens, ...(state.last_model ? { model: state.last_model } : {}) },
          },
          `end:${state.run_id}`,
        ),
      );
      state.ended = true;
      break;
    }
  }
  const toolOnly = payload.hook_event_name === 'PostToolUse' || payload.hook_event_name === 'PostToolUseFailure';
  return { calls, state, stateChanged: !(toolOnly && previous && !previous.ended) };
}
