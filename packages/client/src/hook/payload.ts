/**
 * The hook input Claude Code writes to stdin (hooks reference, Claude Code 2.1.78 and later: the
 * version that added StopFailure). Checked by hand rather than with zod: the hook runs on every tool
 * call, and loading zod would double its start-up time. Fields added later are ignored.
 */
interface Common {
  session_id: string;
  transcript_path?: string;
  cwd?: string;
}

export type HookPayload = Common &
  (
    | { hook_event_name: 'SessionStart'; source?: string; model?: string }
    | { hook_event_name: 'PostToolUse'; tool_name: string; tool_use_id?: string }
    | { hook_event_name: 'PostToolUseFailure'; tool_name: string; tool_use_id?: string; error?: unknown; is_interrupt?: boolean }
    | { hook_event_name: 'Stop' }
    | { hook_event_name: 'StopFailure'; error_type?: string; error?: unknown; error_message?: string }
    | { hook_event_name: 'SessionEnd'; reason?: string }
  );

export type HookEventName = HookPayload['hook_event_name'];

/** Events the hook handles; any other event name is ignored (exit 0, nothing sent). */
export const HANDLED_EVENTS: readonly HookEventName[] = [
  'SessionStart',
  'PostToolUse',
  'PostToolUseFailure',
  'Stop',
  'StopFailure',
  'SessionEnd',
];

const OPTIONAL_STRINGS = ['transcript_path', 'cwd', 'source', 'model', 'tool_use_id', 'error_type', 'error_message', 'reason'] as const;

/** The payload, or what is wrong with it (the field and the rule), for one of the handled events. */
export function parseHookPayload(value: unknown): { payload: HookPayload } | { problem: string } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { problem: 'the payload must be a JSON object' };
  const v = value as Record<string, unknown>;
  const event = v.hook_event_name;
  if (typeof event !== 'string' || !(HANDLED_EVENTS as readonly string[]).includes(event))
    return { problem: `event ${String(event)} is not handled` };
  if (typeof v.session_id !== 'string' || v.session_id.length === 0 || v.session_id.length > 256)
    return { problem: `bad ${event} payload: session_id must be a string of 1 to 256 characters` };
  if ((event === 'PostToolUse' || event === 'PostToolUseFailure') && (typeof v.tool_name !== 'string' || v.tool_name.length === 0))
    return { problem: `bad ${event} payload: tool_name must be a non-empty string` };
  const payload: Record<string, unknown> = { hook_event_name: event, session_id: v.session_id };
  if (typeof v.tool_name === 'string') payload.tool_name = v.tool_name;
  for (const field of OPTIONAL_STRINGS) if (typeof v[field] === 'string') payload[field] = v[field];
  if (v.error !== undefined) payload.error = v.error;
  if (typeof v.is_interrupt === 'boolean') payload.is_interrupt = v.is_interrupt;
  return { payload: payload as unknown as HookPayload };
}
