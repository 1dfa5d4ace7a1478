import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What one Claude Code session's hooks remember between calls (one small JSON file per session). */
export interface SessionState {
  session_id: string;
  /** how many runs this session has had: a session resumed after it ended starts the next one */
  generation: number;
  run_id: string;
  project_key: string;
  agent_id: string;
  ended: boolean;
  transcript_path?: string;
  /** bytes of the transcript already read */
  transcript_offset: number;
  /** assistant message ids already reported, across every run of the session */
  counted: string[];
  /** this run's usage so far: the final totals sent with core_end_run */
  totals: {
    input_tokens: number;
    output_tokens: number;
    cache_read_input_tokens: number;
    cache_creation_input_tokens: number;
    llm_calls: number;
  };
  last_model?: string;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NIL = '00000000-0000-0000-0000-000000000000';
/** Namespace for run ids derived from session ids (RFC 9562 name-based, SHA-1). */
const RUN_NAMESPACE = 'b7f1d0c2-5a8e-4f3b-9c6d-2e4a1f0b8d73';

function uuidV5(name: string): string {
  const ns = Buffer.from(RUN_NAMESPACE.replace(/-/g, ''), 'hex');
  const bytes = createHash('sha1').update(ns).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The run of a session: its first run is the session id itself when that is a UUID (Claude Code's
 * are), so run, trace and session line up; later runs and other ids are name-based UUIDs of it.
 */
export function runIdFor(sessionId: string, generation: number): string {
  if (generation === 0 && UUID_RE.test(sessionId) && sessionId !== NIL) return sessionId.toLowerCase();
  return uuidV5(generation === 0 ? sessionId : `${sessionId}#${generation}`);
}

const fileOf = (home: string, sessionId: string) =>
  join(home, 'sessions', `${createHash('sha256').update(sessionId).digest('hex').slice(0, 32)}.json`);

export function loadState(home: string, sessionId: string): SessionState | undefined {
  try {
    const state = JSON.parse(readFileSync(fileOf(home, sessionId), 'utf8')) as SessionState;
    return state.session_id === sessionId ? state : undefined;
  } catch {
    return undefined;
  }
}

/** Written to a temporary file and renamed, so a hook killed mid-write leaves the previous state. */
export function saveState(home: string, state: SessionState): void {
  const file = fileOf(home, state.session_id);
  mkdirSync(join(home, 'sessions'), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state));
  renameSync(tmp, file);
}

export function newState(sessionId: string, generation: number, projectKey: string, agentId: string, counted: string[] = []): SessionState {
  return {
    session_id: sessionId,
    generation,
    run_id: runIdFor(sessionId, generation),
    project_key: projectKey,
    agent_id: agentId,
    ended: false,
    transcript_offset: 0,
    counted,
    totals: { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, llm_calls: 0 },
  };
}
