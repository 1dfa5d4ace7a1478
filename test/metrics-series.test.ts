import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { AGENT_ID, BridgeProcess } from './support/bridge-process.js';

// Series Prometheus needs before their first increment (so increase() sees the first event), and
// the age of each project's oldest running run (what the stuck-runs alert reads).

const bridges: BridgeProcess[] = [];
after(async () => {
  for (const b of bridges) await b.dispose();
});

/** The value of one exact sample line (`name{labels} value`), or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...m[2].matchAll(/([a-zA-Z_]\w*)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('metric series that exist before their first event', () => {
  test('every export result is exposed at 0 right after start, before any span was exported', async () => {
    const bridge = await BridgeProcess.start();
    bridges.push(bridge);
    const text = (await bridge.get('/metrics')).text;
    for (const result of ['success', 'retry', 'dead_letter', 'expired', 'partial_rejected']) {
      assert.equal(sample(text, 'oprelay_export_spans_total', { result }), 0, `oprelay_export_spans_total{result="${result}"} is 0`);
    }
  });

  test('a project seen for the first time gets every run-end status and reason at 0', async () => {
    const bridge = await BridgeProcess.start();
    bridges.push(bridge);
    const start = await bridge.tool('core_start_run', { project_key: 'fresh', agent_id: AGENT_ID });
    assert.equal(start.status, 200, JSON.stringify(start.body));
    const text = (await bridge.get('/metrics')).text;
    const combos: [string, string][] = [
      ['completed', 'agent'],
      ['failed', 'agent'],
      ['interrupted', 'agent'],
      ['interrupted', 'idle_timeout'],
      ['interrupted', 'max_duration'],
    ];
    for (const [status, end_reason] of combos) {
      assert.equal(
        sample(text, 'oprelay_runs_ended_total', { oprelay_project_key: 'fresh', status, end_reason }),
        0,
        `runs_ended{fresh,${status},${end_reason}} is 0 before any run ended`,
      );
    }
    assert.equal(sample(text, 'oprelay_runs_started_total', { oprelay_project_key: 'fresh' }), 1);

    const end = await bridge.tool('core_end_run', { run_id: start.body.result.run_id, status: 'failed' });
    assert.equal(end.status, 200, JSON.stringify(end.body));
    const after = (await bridge.get('/metrics')).text;
    assert.equal(sample(after, 'oprelay_runs_ended_total', { oprelay_project_key: 'fresh', status: 'failed', end_reason: 'agent' }), 1);
    assert.equal(sample(after, 'oprelay_runs_ended_total', { oprelay_project_key: 'fresh', status: 'completed', end_reason: 'agent' }), 0);
  });
});

describe('oprelay_runs_oldest_active_age', () => {
  test('per project: the age of its oldest running run in seconds, 0 once none runs', async () => {
    const bridge = await BridgeProcess.start();
    bridges.push(bridge);
    const began = Date.now();
    const first = await bridge.tool('core_start_run', { project_key: 'slow', agent_id: AGENT_ID });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const second = await bridge.tool('core_start_run', { project_key: 'slow', agent_id: AGENT_ID });
    const other = await bridge.tool('core_start_run', { project_key: 'quick', agent_id: AGENT_ID });
    assert.equal(other.status, 200);
    // wait (on a condition, not a sleep) until the oldest run is at least one second old
    let text = '';
    const deadline = Date.now() + 10_000;
    do {
      if (text) await new Promise((r) => setTimeout(r, 100));
      text = (await bridge.get('/metrics')).text;
    } while ((sample(text, 'oprelay_runs_oldest_active_age', { oprelay_project_key: 'slow' }) ?? 0) < 1 && Date.now() < deadline);
    const age = sample(text, 'oprelay_runs_oldest_active_age', { oprelay_project_key: 'slow' });
    assert.ok(age !== undefined && age >= 1, `slow's oldest run is at least 1 s old (got ${age})`);
    // no older than the test's own clock allows: the first run, not a made-up start
    assert.ok(age! <= (Date.now() - began) / 1000, `age ${age} is the first run's age`);
    assert.equal(sample(text, 'oprelay_runs_active', { oprelay_project_key: 'slow' }), 2);

    for (const r of [first, second, other]) await bridge.tool('core_end_run', { run_id: r.body.result.run_id, status: 'completed' });
    const ended = (await bridge.get('/metrics')).text;
    assert.equal(sample(ended, 'oprelay_runs_oldest_active_age', { oprelay_project_key: 'slow' }), 0);
    assert.equal(sample(ended, 'oprelay_runs_oldest_active_age', { oprelay_project_key: 'quick' }), 0);
  });
});

describe('the GenAI conventions metrics beside the oprelay series', () => {
  test('gen_ai.client.token.usage counts what the LLM spans carry; agent, tool and operation durations per span', async () => {
    const bridge = await BridgeProcess.start();
    bridges.push(bridge);
    const start = await bridge.tool('core_start_run', { project_key: 'genai', agent_id: AGENT_ID, meta_json: { agent_name: 'deployer' } });
    const runId = start.body.result.run_id;
    const t0 = Date.now() - 10_000;
    await bridge.tool('core_report_usage', {
      run_id: runId,
      token_usage: { input_tokens: 8400, output_tokens: 1200, cost_usd: 0.028, model: 'claude-opus-4' },
      traces: [
        { type: 'llm', model: 'claude-opus-4', input_tokens: 5200, output_tokens: 700, started_at: t0, ended_at: t0 + 2_000 },
        { tool: 'kubectl', started_at: t0 + 2_000, ended_at: t0 + 2_500, status: 'error', error: 'TimeoutError: apply' },
      ],
    });
    const end = await bridge.tool('core_end_run', {
      run_id: runId,
      status: 'completed',
      token_usage: { input_tokens: 12400, output_tokens: 3200, cost_usd: 0.042, model: 'claude-opus-4' },
    });
    assert.equal(end.status, 200, JSON.stringify(end.body));
    const text = (await bridge.get('/metrics')).text;
    const chat = { oprelay_project_key: 'genai', gen_ai_operation_name: 'chat', gen_ai_request_model: 'claude-opus-4' };
    // three LLM spans: the entry, the rest of the report, the rest of the final totals
    assert.equal(sample(text, 'gen_ai_client_token_usage_sum', { ...chat, gen_ai_token_type: 'input' }), 12400);
    assert.equal(sample(text, 'gen_ai_client_token_usage_sum', { ...chat, gen_ai_token_type: 'output' }), 3200);
    assert.equal(sample(text, 'gen_ai_client_token_usage_count', { ...chat, gen_ai_token_type: 'input' }), 3);
    assert.equal(
      sample(text, 'gen_ai_client_token_usage_sum', { ...chat, gen_ai_token_type: 'input' }),
      sample(text, 'oprelay_usage_tokens_total', {
        oprelay_project_key: 'genai',
        gen_ai_token_type: 'input',
        gen_ai_request_model: 'claude-opus-4',
      }),
    );
    // one operation: the entry with its own times (the bridge's uncovered-usage spans time no call)
    assert.equal(sample(text, 'gen_ai_client_operation_duration_count', chat), 1);
    assert.equal(sample(text, 'gen_ai_client_operation_duration_sum', chat), 2);
    const tool = {
      oprelay_project_key: 'genai',
      gen_ai_operation_name: 'execute_tool',
      gen_ai_tool_name: 'kubectl',
      error_type: 'TimeoutError',
    };
    assert.equal(sample(text, 'gen_ai_execute_tool_duration_count', tool), 1);
    assert.equal(sample(text, 'gen_ai_execute_tool_duration_sum', tool), 0.5);
    const agent = { oprelay_project_key: 'genai', gen_ai_operation_name: 'invoke_agent', gen_ai_agent_name: 'deployer' };
    assert.equal(sample(text, 'gen_ai_invoke_agent_duration_count', agent), 1);
    assert.match(text, /gen_ai_client_token_usage_bucket\{[^}]*le="67108864"/, 'the registry buckets');
    assert.match(text, /gen_ai_client_operation_duration_bucket\{[^}]*le="81.92"/, 'the registry buckets');
  });
});
