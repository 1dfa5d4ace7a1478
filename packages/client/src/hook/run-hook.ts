import { callsForEvent } from './events.js';
import { parseHookPayload } from './payload.js';
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
    const parsed = parseHookPayload(json);
    if ('problem' in parsed) return { skipped: parsed.problem };
    const name = parsed.payload.hook_event_name;
    const { calls, state, stateChanged } = callsForEvent(settings, parsed.payload, loadState(settings.home, parsed.payload.session_id));
    if (stateChanged) saveState(settings.home, state);
    return { event: name, delivery: await deliver(settings, calls, log) };
  } catch (err) {
    log(`oprelay hook: ${err instanceof Error ? err.message : String(err)}`);
    return { skipped: 'internal error' };
  }
}
