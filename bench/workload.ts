import { randomUUID } from 'node:crypto';

/** The calls every benchmark sends: one shape, so the figures compare like with like. */
export const PROJECT = 'bench';
export const AGENT_ID = '6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b';

export function startArgs(runId?: string): Record<string, unknown> {
  return {
    project_key: PROJECT,
    agent_id: AGENT_ID,
    ...(runId ? { run_id: runId } : {}),
    summary: 'benchmark run',
    meta_json: { agent_name: 'bench-agent', env: 'bench' },
  };
}

/** core_report_usage with 5 trace entries: 3 LLM calls and 2 tool calls. */
export function reportArgs(runId: string): Record<string, unknown> {
  const t = Date.now() - 5_000;
  const llm = (i: number) => ({
    type: 'llm',
    model: 'claude-opus-4',
    input_tokens: 2800,
    output_tokens: 400,
    cost_usd: 0.0093,
    started_at: t + i * 1000,
    ended_at: t + i * 1000 + 800,
    status: 'ok',
  });
  const tool = (i: number, name: string) => ({ type: 'tool', tool: name, started_at: t + i * 1000 + 850, duration_ms: 120, status: 'ok' });
  return {
    run_id: runId,
    token_usage: { input_tokens: 8400, output_tokens: 1200, cost_usd: 0.028, model: 'claude-opus-4', llm_calls: 3 },
    traces: [llm(0), tool(0, 'read_file'), llm(1), tool(1, 'run_tests'), llm(2)],
  };
}

export function endArgs(runId: string): Record<string, unknown> {
  return { run_id: runId, status: 'completed', summary: 'done' };
}

export const newRunIds = (n: number): string[] => Array.from({ length: n }, () => randomUUID());
