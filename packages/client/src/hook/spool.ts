import { appendFileSync, closeSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRetryable, OprelayError } from '../errors.js';
import type { ToolName } from '../schemas/schemas.js';
import { createTransport } from '../transport.js';
import type { HookSettings } from './settings.js';

/** A tool call waiting for the bridge, with the Idempotency-Key it keeps across re-sends. */
export interface SpooledCall {
  tool: ToolName;
  args: Record<string, unknown>;
  key: string;
}

export interface DeliveryResult {
  sent: number;
  /** refused for good by the bridge (a 4xx other than 401, 403 and 429): sending them again would not help */
  refused: number;
  /** still in the spool for the next hook call */
  kept: number;
}

/** Calls kept at most; past it the newest are not written (a bridge gone for days must not fill the disk). */
export const SPOOL_MAX_CALLS = 10_000;
const LOCK_WAIT_MS = 1000;
const STALE_LOCK_MS = 30_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function lock(path: string): Promise<boolean> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      closeSync(openSync(path, 'wx'));
      return true;
    } catch {
      try {
        if (Date.now() - statSync(path).mtimeMs > STALE_LOCK_MS) unlinkSync(path); // its hook was killed
      } catch {
        /* removed meanwhile */
      }
    }
    if (Date.now() >= deadline) return false;
    await sleep(20);
  }
}

function parseLines(text: string): SpooledCall[] {
  const calls: SpooledCall[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      calls.push(JSON.parse(line) as SpooledCall);
    } catch {
      /* a torn line from a killed hook */
    }
  }
  return calls;
}

const readText = (path: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

const serialise = (calls: SpooledCall[]) => calls.map((c) => JSON.stringify(c) + '\n').join('');

/**
 * Adds `calls` to the spool and sends the spool, in order, until one cannot get through or the time
 * budget is spent; what was not sent stays in the spool for the next hook call. Another hook holding
 * the spool (parallel tool hooks) gets `calls` appended and sends them itself.
 */
export async function deliver(settings: HookSettings, calls: SpooledCall[], log: (line: string) => void): Promise<DeliveryResult> {
  mkdirSync(settings.home, { recursive: true });
  const spool = join(settings.home, 'spool.jsonl');
  const lockPath = join(settings.home, 'spool.lock');
  const deadline = Date.now() + settings.budgetMs;
  if (!(await lock(lockPath))) {
    appendFileSync(spool, serialise(calls));
    return { sent: 0, refused: 0, kept: calls.length };
  }
  try {
    // written ahead: a hook stopped mid-send leaves its calls in the spool (their keys make a re-send safe)
    if (calls.length > 0) appendFileSync(spool, serialise(calls));
    const before = readText(spool);
    const pending = parseLines(before);
    let sent = 0;
    let refused = 0;
    while (sent + refused < pending.length) {
      const remaining = deadline - Date.now();
      if (remaining < 50) break;
      const call = pending[sent + refused];
      try {
        // the transport alone, not the typed client: its result schemas would load zod, and nothing here reads the answer
        const { send, auth } = createTransport({
          url: settings.url,
          apiKey: settings.apiKey,
          maxRetries: 0,
          timeoutMs: Math.min(remaining, 2000),
        });
        await send(`/v1/tools/${encodeURIComponent(call.tool)}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': call.key, ...auth },
          body: JSON.stringify(call.args),
        });
        sent++;
      } catch (err) {
        if (isRetryable(err)) break; // the bridge is down or busy: keep the rest, in order
        if (err instanceof OprelayError && (err.status === 401 || err.status === 403)) {
          // a missing or wrong key is fixed in the settings, not by dropping the session's data
          log(`oprelay hook: the bridge refused the key (${err.code}); calls stay in the spool until OPRELAY_API_KEY is right`);
          break;
        }
        refused++;
        log(`oprelay hook: ${call.tool} refused: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    // calls appended by hooks that could not get the lock arrived after `before`
    const appended = parseLines(readText(spool).slice(before.length));
    const left = [...pending.slice(sent + refused), ...appended].slice(0, SPOOL_MAX_CALLS);
    const tmp = `${spool}.${process.pid}.tmp`;
    writeFileSync(tmp, serialise(left));
    renameSync(tmp, spool);
    return { sent, refused, kept: left.length };
  } finally {
    try {
      unlinkSync(lockPath);
    } catch {
      /* already gone */
    }
  }
}
