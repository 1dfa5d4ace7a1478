import { homedir } from 'node:os';
import { join } from 'node:path';

export interface HookSettings {
  url: string;
  apiKey?: string;
  projectKey: string;
  agentId: string;
  /** where the per-session state files and the spool live */
  home: string;
  /** how long one hook call may spend talking to the bridge, in ms */
  budgetMs: number;
}

/** The agent_id all Claude Code sessions report under unless OPRELAY_AGENT_ID names another. */
export const CLAUDE_CODE_AGENT_ID = '0c1a0de0-c0de-4c1a-8de0-0000c1a0de00';
export const DEFAULT_PROJECT = 'claude-code';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Settings from the environment; a bad value falls back to its default, because a hook must never fail. */
export function hookSettings(env: NodeJS.ProcessEnv): HookSettings {
  const budget = Number(env.OPRELAY_HOOK_BUDGET_MS);
  const agentId = env.OPRELAY_AGENT_ID?.trim();
  return {
    url: env.OPRELAY_URL?.trim() || 'http://127.0.0.1:8787',
    apiKey: env.OPRELAY_API_KEY?.trim() || undefined,
    projectKey: env.OPRELAY_PROJECT?.trim().slice(0, 128) || DEFAULT_PROJECT,
    agentId: agentId && UUID_RE.test(agentId) ? agentId.toLowerCase() : CLAUDE_CODE_AGENT_ID,
    home: env.OPRELAY_HOME?.trim() || join(homedir(), '.oprelay'),
    budgetMs: Number.isFinite(budget) && budget > 0 ? Math.min(budget, 30_000) : 3000,
  };
}
