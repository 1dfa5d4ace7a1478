import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { AGENT_ID, BridgeProcess } from './support/bridge-process.js';

// Per-project daily budgets (docs/architecture.md#budgets): oprelay.budget.remaining and 429 budget_exceeded.

const bridges: BridgeProcess[] = [];

after(async () => {
  for (const b of bridges) await b.dispose();
});

async function spend(bridge: BridgeProcess, project: string, cost: number): Promise<string> {
  const start = await bridge.tool('core_start_run', { project_key: project, agent_id: AGENT_ID });
  assert.equal(start.status, 200, JSON.stringify(start.body));
  const runId: string = start.body.result.run_id;
  const usage = await bridge.tool('core_report_usage', {
    run_id: runId,
    token_usage: { input_tokens: 10, output_tokens: 1, cost_usd: cost },
  });
  assert.equal(usage.status, 200, JSON.stringify(usage.body));
  return runId;
}

/** oprelay_budget_remaining per project, from the Prometheus endpoint. */
async function remaining(bridge: BridgeProcess): Promise<Map<string, number>> {
  const r = await bridge.get('/metrics');
  assert.equal(r.status, 200);
  const out = new Map<string, number>();
  for (const m of r.text.matchAll(/^oprelay_budget_remaining\{[^}]*oprelay_project_key="([^"]+)"[^}]*\} (\S+)$/gm))
    out.set(m[1], Number(m[2]));
  return out;
}

/** Polls until check passes (the spent figure is cached for ~2 s); bounded. */
async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  let last: T;
  do {
    last = await fn();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  } while (Date.now() < deadline);
  assert.fail(`${what}: last value ${JSON.stringify(last instanceof Map ? [...last] : last)}`);
}

const close = (a: number | undefined, b: number) => a !== undefined && Math.abs(a - b) < 1e-9;

describe('daily budgets', () => {
  test('enforced: the gauge falls with spending and an exhausted project gets 429 budget_exceeded', async () => {
    const bridge = await BridgeProcess.start({ BRIDGE_BUDGETS: 'acme=1;other=5', BRIDGE_BUDGET_ENFORCE: 'true' });
    bridges.push(bridge);
    const before = await remaining(bridge);
    assert.equal(before.get('acme'), 1);
    assert.equal(before.get('other'), 5);

    await spend(bridge, 'acme', 0.4);
    await eventually(
      () => remaining(bridge),
      (m) => close(m.get('acme'), 0.6),
      'acme has 0.6 USD left',
    );

    const stillRunning = await spend(bridge, 'acme', 0.7); // 1.1 of 1 USD: over, this run keeps going
    const refused = await eventually(
      () => bridge.tool('core_start_run', { project_key: 'acme', agent_id: AGENT_ID }),
      (r) => r.status === 429,
      'core_start_run is refused',
    );
    assert.equal(refused.body.error.code, 'budget_exceeded');
    assert.match(refused.body.error.message, /"acme"/);
    assert.match(refused.body.error.message, /1\.10 USD/);
    assert.match(refused.body.error.message, /1\.00 USD/);
    const gauges = await eventually(
      () => remaining(bridge),
      (m) => close(m.get('acme'), -0.1),
      'acme is 0.1 USD over',
    );
    assert.equal(gauges.get('other'), 5);

    // The run already in flight may finish; other projects and unbudgeted ones are untouched.
    assert.equal((await bridge.tool('core_end_run', { run_id: stillRunning, status: 'completed' })).status, 200);
    assert.equal((await bridge.tool('core_start_run', { project_key: 'other', agent_id: AGENT_ID })).status, 200);
    assert.equal((await bridge.tool('core_start_run', { project_key: 'no-budget', agent_id: AGENT_ID })).status, 200);
  });

  test('enforced on one bridge: the start right after the spending call is refused, no cache window', async () => {
    const bridge = await BridgeProcess.start({ BRIDGE_BUDGETS: 'acme=1;other=5', BRIDGE_BUDGET_ENFORCE: 'true' });
    bridges.push(bridge);
    await spend(bridge, 'acme', 0.6); // this start read the spent figure (0) into the cache
    await spend(bridge, 'acme', 0.3); // 0.9 of 1 USD: still under, this start is allowed
    const runId = await spend(bridge, 'acme', 0.15); // 1.05: over from this commit on
    const refused = await bridge.tool('core_start_run', { project_key: 'acme', agent_id: AGENT_ID });
    assert.equal(refused.status, 429, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'budget_exceeded');
    assert.match(refused.body.error.message, /1\.05 USD/);
    // the final usage of an end call counts too, and the gauge agrees at once
    const end = await bridge.tool('core_end_run', { run_id: runId, status: 'completed', token_usage: { cost_usd: 0.35 } });
    assert.equal(end.status, 200, JSON.stringify(end.body));
    assert.ok(close((await remaining(bridge)).get('acme'), -0.25), 'gauge: 1 - 1.25');
    assert.equal((await bridge.tool('core_start_run', { project_key: 'other', agent_id: AGENT_ID })).status, 200);
  });

  test('not enforced: over budget shows in the gauge but runs still start', async () => {
    const bridge = await BridgeProcess.start({ BRIDGE_BUDGETS: 'acme=0.5' });
    bridges.push(bridge);
    await spend(bridge, 'acme', 0.75);
    await eventually(
      () => remaining(bridge),
      (m) => close(m.get('acme'), -0.25),
      'acme is 0.25 USD over',
    );
    const start = await bridge.tool('core_start_run', { project_key: 'acme', agent_id: AGENT_ID });
    assert.equal(start.status, 200, JSON.stringify(start.body));
  });

  test('without BRIDGE_BUDGETS there is no budget gauge', async () => {
    const bridge = await BridgeProcess.start();
    bridges.push(bridge);
    await spend(bridge, 'acme', 2);
    assert.equal((await remaining(bridge)).size, 0);
    assert.doesNotMatch((await bridge.get('/metrics')).text, /oprelay_budget_remaining\{/);
  });
});
