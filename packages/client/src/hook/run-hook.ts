import { callsForEvent } from './events.js';
import { HANDLED_EVENTS, hookPayload } from './payload.js';
import { loadState, saveState } from './session-state.js';
import type { HookSettings } from './settings.js';
import { deliver, type DeliveryResult } from './spool.js';

export interface HookRunResult {
  event?: string;
  /** why nothing was done, when nothing was */
  skipped?: string;
  delivery?: DeliveryResult;
}

/** One hook call: the event's JSON → state update → spool → bridge. Never throws: a hook must not break the session. */
export async function runHook(settings: HookSettings, input: string, log: (line: string) => void): Promise<HookRunResult> {
  try {
    let json: unknown;
    try {
      json = JSON.parse(input);
    } catch {
      return { skipped: 'stdin is not JSON' };
    }
    const name = (json as { hook_event_name?: unknown } | null)?.hook_event_name;
    if (typeof name !== 'string' || !(HANDLED_EVENTS as readonly string[]).includes(name)) return { skipped: `event ${String(name)} is not handled` };
    const parsed = hookPayload.safeParse(json);
    if (!parsed.success) return { event: name, skipped: `bad ${name} payload: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` };
    const { calls, state, stateChanged } = callsForEvent(settings, parsed.data, loadState(settings.home, parsed.data.session_id));
    if (stateChanged) saveState(settings.home, state);
    return { event: name, delivery: await deliver(settings, calls, log) };
  } catch (err) {
    log(`oprelay hook: ${err instanceof Error ? err.message : String(err)}`);
    return { skipped: 'internal error' };
  }
}
