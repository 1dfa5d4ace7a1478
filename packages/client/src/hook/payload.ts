import { z } from 'zod';

/**
 * The hook input Claude Code writes to stdin (hooks reference, Claude Code 2.1.78 and later: the
 * version that added StopFailure). Objects stay open, so fields added later do not break the hook.
 */
const common = {
  session_id: z.string().min(1).max(256),
  transcript_path: z.string().optional(),
  cwd: z.string().optional(),
  permission_mode: z.string().optional(),
};

export const hookPayload = z.discriminatedUnion('hook_event_name', [
  z.looseObject({ ...common, hook_event_name: z.literal('SessionStart'), source: z.string().optional(), model: z.string().optional() }),
  z.looseObject({
    ...common,
    hook_event_name: z.literal('PostToolUse'),
    tool_name: z.string(),
    tool_use_id: z.string().optional(),
  }),
  z.looseObject({
    ...common,
    hook_event_name: z.literal('PostToolUseFailure'),
    tool_name: z.string(),
    tool_use_id: z.string().optional(),
    error: z.unknown().optional(),
    is_interrupt: z.boolean().optional(),
  }),
  z.looseObject({ ...common, hook_event_name: z.literal('Stop'), stop_hook_active: z.boolean().optional() }),
  z.looseObject({
    ...common,
    hook_event_name: z.literal('StopFailure'),
    error_type: z.string().optional(),
    error: z.unknown().optional(),
    error_message: z.string().optional(),
  }),
  z.looseObject({ ...common, hook_event_name: z.literal('SessionEnd'), reason: z.string().optional() }),
]);

export type HookPayload = z.output<typeof hookPayload>;
export type HookEventName = HookPayload['hook_event_name'];

/** Events the hook handles; any other event name is ignored (exit 0, nothing sent). */
export const HANDLED_EVENTS: readonly HookEventName[] = ['SessionStart', 'PostToolUse', 'PostToolUseFailure', 'Stop', 'StopFailure', 'SessionEnd'];
