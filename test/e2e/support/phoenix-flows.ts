import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { AGENT_ID, TASK_ID, type BridgeProcess } from '../../support/bridge-process.js';
import type { PhoenixApi, PhoenixSpan } from './phoenix.js';
import { waitFor } from './peer-process.js';

export interface RunTotals {
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
}

export interface SentRun {
  runId: string;
  traceId: string;
  /** the run's root span, named by the traceparent core_start_run answered */
  rootSpanId: string;
  /** the totals the bridge answered at the run's end */
  totals: RunTotals;
}

/** What the Phoenix suite sent: two projects, the runs in each and the shared conversation id. */
export interface SentFlows {
  projectA: string;
  projectB: string;
  sessionId: string;
  seed: SentRun;
  sameSession: SentRun;
  failed: SentRun;
  parent: SentRun;
  child: SentRun;
  recordTraceId: string;
}

const model = 'claude-opus-4';

async function call(bridge: BridgeProcess, tool: string, args: Record<string, unknown>) {
  const answer = await bridge.tool(tool, args);
  assert.equal(answer.status, 200, `${tool}: ${JSON.stringify(answer.body)}`);
  return answer.body.result;
}

async function end(
  bridge: BridgeProcess,
  started: { run_id: string; traceparent: string },
  args: Record<string, unknown>,
): Promise<SentRun> {
  const result = await call(bridge, 'core_end_run', { run_id: started.run_id, ...args });
  const [, traceId, rootSpanId] = started.traceparent.split('-');
  return { runId: started.run_id, traceId: traceId!, rootSpanId: rootSpanId!, totals: result.totals };
}

/**
 * Project A: the README's seed flow and a second run of the same conversation, then a failed run
 * whose usage comes without trace entries. Project B: a planner with a coder sub-agent, and a
 * record_run entry.
 */
export async function sendFlows(bridge: BridgeProcess): Promise<SentFlows> {
  const suffix = randomUUID().slice(0, 8);
  const projectA = `e2e-phoenix-a-${suffix}`;
  const projectB = `e2e-phoenix-b-${suffix}`;
  const sessionId = `conversation-${suffix}`;
  const start = (project: string, runId: string, meta: Record<string, unknown>, summary = 'Deploying rate limiter to staging') =>
    call(bridge, 'core_start_run', { project_key: project, agent_id: AGENT_ID, run_id: runId, summary, meta_json: meta });

  const seedId = randomUUID();
  const seedStart = await start(projectA, seedId, { agent_name: 'deployer', env: 'staging', session_id: sessionId });
  await call(bridge, 'core_report_usage', {
    run_id: seedId,
    token_usage: { input_tokens: 8400, output_tokens: 1200, cost_usd: 0.028, model, llm_calls: 3 },
    traces: [
      { type: 'llm', model, input_tokens: 5200, output_tokens: 700, duration_ms: 2100 },
      { type: 'tool', tool: 'kubectl', duration_ms: 640, status: 'ok' },
    ],
    idempotency_key: 'batch-0001',
  });
  await call(bridge, 'core_record_failure', {
    project_key: projectA,
    run_id: seedId,
    agent_id: AGENT_ID,
    task_id: TASK_ID,
    summary: 'Database connection timeout during migration',
    error: 'Error: connect ETIMEDOUT 10.0.0.5:5432',
    context: { migration: '0042_add_index', attempt: 2 },
  });
  const seed = await end(bridge, seedStart, {
    status: 'completed',
    summary: 'Rate limiter deployed and verified in staging',
    token_usage: { input_tokens: 12400, output_tokens: 3200, cost_usd: 0.042, model, llm_calls: 7 },
  });

  const sameSessionId = randomUUID();
  const sameSessionStart = await start(
    projectA,
    sameSessionId,
    { agent_name: 'verifier', session_id: sessionId },
    'Verify the rate limiter',
  );
  await call(bridge, 'core_report_usage', {
    run_id: sameSessionId,
    token_usage: { input_tokens: 2000, output_tokens: 300, cost_usd: 0.006, model, llm_calls: 1 },
  });
  const sameSession = await end(bridge, sameSessionStart, { status: 'completed', summary: 'verified' });

  const failedId = randomUUID();
  const failedStart = await start(projectA, failedId, { agent_name: 'migrator' }, 'migrate');
  await call(bridge, 'core_record_failure', {
    project_key: projectA,
    run_id: failedId,
    agent_id: AGENT_ID,
    summary: 'Schema migration failed',
    error: 'MigrationError: column "rate" already exists',
  });
  const failed = await end(bridge, failedStart, {
    status: 'failed',
    summary: 'gave up after the migration failed',
    token_usage: { input_tokens: 900, output_tokens: 150, cost_usd: 0.004, model, llm_calls: 1 },
  });

  const parentId = randomUUID();
  const childId = randomUUID();
  const parentStart = await start(projectB, parentId, { agent_name: 'planner' }, 'plan the release');
  const childStart = await start(projectB, childId, { agent_name: 'coder', parent_run_id: parentId }, 'write the patch');
  await call(bridge, 'core_report_usage', {
    run_id: childId,
    token_usage: { input_tokens: 1500, output_tokens: 200, cost_usd: 0.005, model, llm_calls: 1 },
    traces: [{ type: 'llm', model, input_tokens: 1500, output_tokens: 200, duration_ms: 900 }],
  });
  const child = await end(bridge, childStart, {
    status: 'completed',
    token_usage: { input_tokens: 3000, output_tokens: 400, cost_usd: 0.01, model, llm_calls: 2 },
  });
  const parent = await end(bridge, parentStart, {
    status: 'completed',
    token_usage: { input_tokens: 1000, output_tokens: 100, cost_usd: 0.002, model, llm_calls: 1 },
  });
  assert.equal(child.traceId, parent.traceId, 'the sub-agent joins its parent trace');

  const recorded = await call(bridge, 'record_run', {
    project_key: projectB,
    agent: 'claude-opus',
    ticket: 'OPR-429',
    summary: 'Implemented project isolation.',
  });
  return { projectA, projectB, sessionId, seed, sameSession, failed, parent, child, recordTraceId: recorded.trace_id };
}

/**
 * Waits until Phoenix holds every run's root span and the record_run span, and its span count has
 * stopped changing (the roots are the last spans each run exports), then returns Phoenix's spans
 * by project (all projects, so spans in a wrong project show too).
 */
export async function waitForIngestion(api: PhoenixApi, sent: SentFlows, timeoutMs = 90_000): Promise<Map<string, PhoenixSpan[]>> {
  const roots = [sent.seed, sent.sameSession, sent.failed, sent.parent, sent.child].map((run) => run.rootSpanId);
  let previousCount = -1;
  return waitFor(
    'Phoenix to hold every span the bridge sent',
    async () => {
      const byProject = new Map<string, PhoenixSpan[]>();
      for (const project of await api.projectNames()) byProject.set(project, await api.spans(project));
      const spans = [...byProject.values()].flat();
      const held = new Set(spans.map((span) => span.context.span_id));
      const complete = roots.every((id) => held.has(id)) && spans.some((span) => span.context.trace_id === sent.recordTraceId);
      const stable = spans.length === previousCount;
      previousCount = spans.length;
      return complete && stable ? byProject : undefined;
    },
    timeoutMs,
    1_000,
  );
}
