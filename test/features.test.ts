import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { AGENT_ID, BridgeProcess } from './support/bridge-process.js';
import { OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.js';

/** docs/architecture.md#sub-agent-runs-sessions-computed-cost-trace-entries: computed cost, sub-agent runs, sessions, and BRIDGE_TRACE_ENTRIES, through HTTP + a real OTLP receiver. */

const hex = (runId: string) => runId.replace(/-/g, '');

/**
 * List prices in USD per million tokens, copied by hand from the providers' published price pages
 * (read 2026-11-30), not from the pricing library the bridge uses: a wrong price table or a wrong
 * split of the tokens in the bridge makes these tests fail.
 *   gpt-4o: https://platform.openai.com/docs/pricing (input $2.50, cached input $1.25, output $10.00)
 *   claude-opus-4, claude-sonnet-4-5: https://platform.claude.com/docs/en/about-claude/pricing
 *     Claude Opus 4: base input $15, 5m cache writes $18.75, cache hits $1.50, output $75
 *     Claude Sonnet 4.5: base input $3, 5m cache writes $3.75, cache hits $0.30, output $15
 */
const PUBLISHED: Record<string, { input: number; cacheWrite: number; cacheRead: number; output: number }> = {
  'gpt-4o': { input: 2.5, cacheWrite: 2.5, cacheRead: 1.25, output: 10 },
  'claude-opus-4': { input: 15, cacheWrite: 18.75, cacheRead: 1.5, output: 75 },
  'claude-sonnet-4-5': { input: 3, cacheWrite: 3.75, cacheRead: 0.3, output: 15 },
};

/** The bill for one call, each token counted once at its own rate (reasoning tokens are output tokens). */
function listPrice(model: string, t: { uncachedInput: number; cacheRead?: number; cacheWrite?: number; output: number }): number {
  const p = PUBLISHED[model]!;
  return (t.uncachedInput * p.input + (t.cacheRead ?? 0) * p.cacheRead + (t.cacheWrite ?? 0) * p.cacheWrite + t.output * p.output) / 1e6;
}

function near(actual: unknown, expected: number, what: string): void {
  assert.equal(typeof actual, 'number', `${what} is a number`);
  assert.ok(Math.abs((actual as number) - expected) < 1e-9, `${what}: ${String(actual)} ≈ ${expected}`);
}

const isRoot = (s: ReceivedSpan) => s.name.startsWith('invoke_agent');

/** Sum of a Prometheus counter's samples whose labels contain every `labels` pair. */
function counter(metrics: string, name: string, labels: Record<string, string>): number | undefined {
  let sum: number | undefined;
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum = (sum ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

describe('features beyond the seed tools (docs/tools.md)', () => {
  const receiver = new OtlpReceiver();
  let bridge: BridgeProcess;
  let costOff: BridgeProcess;
  let errorsOnly: BridgeProcess;
  let noEntries: BridgeProcess;

  before(async () => {
    await receiver.start();
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
    [bridge, costOff, errorsOnly, noEntries] = await Promise.all([
      BridgeProcess.start(env),
      BridgeProcess.start({ ...env, BRIDGE_COST_INFERENCE: 'off' }),
      BridgeProcess.start({ ...env, BRIDGE_TRACE_ENTRIES: 'errors' }),
      BridgeProcess.start({ ...env, BRIDGE_TRACE_ENTRIES: 'none' }),
    ]);
  });

  after(async () => {
    await Promise.all([bridge, costOff, errorsOnly, noEntries].map((b) => b?.dispose()));
    await receiver.stop();
  });

  async function start(b: BridgeProcess, project: string, meta?: Record<string, unknown>, runId = randomUUID()) {
    const r = await b.tool('core_start_run', {
      project_key: project,
      agent_id: AGENT_ID,
      run_id: runId,
      ...(meta ? { meta_json: meta } : {}),
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.result as { run_id: string; trace_id: string; traceparent: string };
  }

  async function report(b: BridgeProcess, runId: string, tokenUsage: Record<string, unknown>, traces?: unknown[]) {
    const r = await b.tool('core_report_usage', { run_id: runId, token_usage: tokenUsage, ...(traces ? { traces } : {}) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.result as { totals: { cost_usd: number; input_tokens: number; output_tokens: number } };
  }

  async function end(b: BridgeProcess, runId: string) {
    const r = await b.tool('core_end_run', { run_id: runId, status: 'completed' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }

  async function rootOf(runId: string): Promise<ReceivedSpan> {
    await receiver.waitFor((spans) => spans.some((s) => isRoot(s) && s.attributes['oprelay.run.id'] === runId), 10_000, `root of ${runId}`);
    return receiver.spans.find((s) => isRoot(s) && s.attributes['oprelay.run.id'] === runId)!;
  }

  const entrySpansOf = (runId: string) =>
    receiver.spans.filter(
      (s) =>
        s.attributes['oprelay.run.id'] === runId &&
        !isRoot(s) &&
        s.name !== 'start_run' &&
        s.attributes['oprelay.usage.uncovered_by'] === undefined,
    );
  const uncoveredSpansOf = (runId: string) =>
    receiver.spans.filter((s) => s.attributes['oprelay.run.id'] === runId && s.attributes['oprelay.usage.uncovered_by'] !== undefined);

  describe('computed cost', () => {
    test('tokens + a known model without cost_usd are priced with genai-prices: root, event, entry span and metric', async () => {
      const run = await start(bridge, 'feat-cost');
      const usage = { input_tokens: 8400, output_tokens: 1200, model: 'claude-opus-4', llm_calls: 3 };
      const expected = listPrice('claude-opus-4', { uncachedInput: 8400, output: 1200 });
      const entryExpected = listPrice('gpt-4o', { uncachedInput: 1000, output: 200 });
      assert.deepEqual(
        [expected, entryExpected].map((c) => c.toFixed(6)),
        ['0.216000', '0.004500'],
        'the arithmetic of the list prices',
      );

      const r = await report(bridge, run.run_id, usage, [{ type: 'llm', model: 'gpt-4o', input_tokens: 1000, output_tokens: 200 }]);
      near(r.totals.cost_usd, expected, 'report totals.cost_usd');
      await end(bridge, run.run_id);

      const root = await rootOf(run.run_id);
      near(root.attributes['oprelay.usage.cost_usd'], expected, 'root oprelay.usage.cost_usd');
      near(root.attributes['llm.cost.total'], expected, 'root llm.cost.total');
      assert.equal(root.attributes['gen_ai.usage.cost'], undefined, 'no cost name outside the conventions');
      assert.equal(root.attributes['oprelay.usage.cost_source'], 'computed');
      assert.equal(root.attributes['gen_ai.provider.name'], 'anthropic');
      const event = root.events.find((e) => e.name === 'oprelay.usage.report');
      assert.ok(event, 'usage report event');
      near(event.attributes['oprelay.usage.cost_usd'], expected, 'event oprelay.usage.cost_usd');
      assert.equal(event.attributes['oprelay.usage.cost_source'], 'computed');

      const [chat] = entrySpansOf(run.run_id);
      assert.equal(chat?.name, 'chat gpt-4o');
      near(chat.attributes['oprelay.trace.cost_usd'], entryExpected, 'entry oprelay.trace.cost_usd');
      assert.equal(chat.attributes['oprelay.usage.cost_source'], 'computed');
      assert.equal(chat.attributes['gen_ai.provider.name'], 'openai');
      assert.equal(chat.attributes['gen_ai.usage.cost'], undefined, 'no cost name outside the conventions');
      near(chat.attributes['llm.cost.total'], entryExpected, 'entry llm.cost.total: its computed share');
      near(
        Number(chat.attributes['llm.cost.prompt']) + Number(chat.attributes['llm.cost.completion']),
        entryExpected,
        'entry llm.cost.prompt + llm.cost.completion',
      );
      // the rest of the batch no entry covers: its own LLM span, so LLM spans add up to the run
      const [rest] = uncoveredSpansOf(run.run_id);
      assert.equal(rest?.name, 'chat claude-opus-4');
      assert.equal(rest.attributes['openinference.span.kind'], 'LLM');
      assert.equal(rest.attributes['gen_ai.usage.input_tokens'], 7400);
      assert.equal(rest.attributes['gen_ai.usage.output_tokens'], 1000);
      assert.equal(rest.attributes['gen_ai.provider.name'], 'anthropic');
      near(rest.attributes['llm.cost.total'], expected - entryExpected, 'uncovered llm.cost.total');

      const view = await bridge.get(`/v1/runs/${run.run_id}`);
      near(view.body.totals.cost_usd, expected, 'GET totals.cost_usd');
      const metrics = await bridge.get('/metrics');
      const cost = counter(metrics.text, 'oprelay_usage_cost_total', {
        oprelay_project_key: 'feat-cost',
        gen_ai_request_model: 'claude-opus-4',
      });
      assert.ok(cost !== undefined, `oprelay_usage_cost_total for feat-cost in:\n${metrics.text}`);
      near(cost, expected, 'oprelay_usage_cost_total');
    });

    test('cache and reasoning tokens are priced at their own rates and reach gen_ai.usage.* attributes', async () => {
      const run = await start(bridge, 'feat-cache');
      // cache parts inside input_tokens (the semconv / genai-prices reading)
      await report(bridge, run.run_id, {
        input_tokens: 5000,
        cache_read_input_tokens: 3000,
        cache_creation_input_tokens: 1000,
        output_tokens: 800,
        reasoning_output_tokens: 300,
        model: 'claude-sonnet-4-5',
      });
      // Anthropic-style: input_tokens without the cache reads, which exceed it → added to it
      await report(bridge, run.run_id, { input_tokens: 100, cache_read_input_tokens: 4000, output_tokens: 50, model: 'claude-sonnet-4-5' });
      await end(bridge, run.run_id);
      // first report: 1000 uncached of its 5000 input tokens; the 300 reasoning tokens are part of the 800 output
      // second report: the 100 input tokens are all uncached, the 4000 cache reads come on top
      const expected =
        listPrice('claude-sonnet-4-5', { uncachedInput: 1000, cacheRead: 3000, cacheWrite: 1000, output: 800 }) +
        listPrice('claude-sonnet-4-5', { uncachedInput: 100, cacheRead: 4000, output: 50 });
      assert.equal(expected.toFixed(6), '0.021900', 'the arithmetic of the list prices');
      const plain = listPrice('claude-sonnet-4-5', { uncachedInput: 5100, output: 850 });
      assert.ok(Math.abs(plain - expected) > 0.005, 'cache rates make a difference');

      const root = await rootOf(run.run_id);
      near(root.attributes['oprelay.usage.cost_usd'], expected, 'root cost with cache rates');
      assert.equal(root.attributes['gen_ai.usage.cache_read.input_tokens'], 7000);
      assert.equal(root.attributes['gen_ai.usage.cache_write.input_tokens'], 1000, 'the current name');
      assert.equal(root.attributes['gen_ai.usage.cache_creation.input_tokens'], 1000, 'and the old one backends still read');
      assert.equal(root.attributes['gen_ai.usage.reasoning.output_tokens'], 300);
      assert.equal(root.attributes['gen_ai.usage.input_tokens'], 5100, 'token totals are the agent figures, unchanged');
      const first = root.events.find((e) => e.name === 'oprelay.usage.report');
      assert.equal(first?.attributes['gen_ai.usage.cache_read.input_tokens'], 3000);
    });

    test('an unknown model leaves the cost at 0 with cost_source unknown', async () => {
      const run = await start(bridge, 'feat-cost');
      const r = await report(bridge, run.run_id, { input_tokens: 100, output_tokens: 50, model: 'acme-internal-llm-7' }, [
        { model: 'acme-internal-llm-7', input_tokens: 10, output_tokens: 5 },
      ]);
      assert.equal(r.totals.cost_usd, 0);
      await end(bridge, run.run_id);
      const root = await rootOf(run.run_id);
      assert.equal(root.attributes['oprelay.usage.cost_source'], 'unknown');
      assert.equal(root.attributes['oprelay.usage.cost_usd'], 0);
      assert.equal(root.attributes['gen_ai.provider.name'], undefined);
      const [entry] = entrySpansOf(run.run_id);
      assert.equal(entry?.attributes['oprelay.usage.cost_source'], 'unknown');
      assert.equal(entry.attributes['oprelay.trace.cost_usd'], undefined);
    });

    test('a reported cost is never replaced: cost_source reported', async () => {
      const run = await start(bridge, 'feat-cost');
      const r = await report(bridge, run.run_id, { input_tokens: 8400, output_tokens: 1200, cost_usd: 0.028, model: 'claude-opus-4' }, [
        { model: 'claude-opus-4', input_tokens: 8400, output_tokens: 1200, cost_usd: 0.011 },
      ]);
      assert.equal(r.totals.cost_usd, 0.028);
      await end(bridge, run.run_id);
      const root = await rootOf(run.run_id);
      assert.equal(root.attributes['oprelay.usage.cost_usd'], 0.028);
      assert.equal(root.attributes['llm.cost.total'], 0.028);
      assert.equal(root.attributes['oprelay.usage.cost_source'], 'reported');
      const [entry] = entrySpansOf(run.run_id);
      assert.equal(entry?.attributes['oprelay.trace.cost_usd'], 0.011);
      assert.equal(entry.attributes['oprelay.usage.cost_source'], 'reported');
    });

    test('reported and computed batches in one run → cost_source mixed, costs added', async () => {
      const run = await start(bridge, 'feat-cost');
      await report(bridge, run.run_id, { input_tokens: 8400, output_tokens: 1200, cost_usd: 0.028, model: 'claude-opus-4' });
      const r = await report(bridge, run.run_id, { input_tokens: 1000, output_tokens: 200, model: 'gpt-4o' });
      const expected = 0.028 + listPrice('gpt-4o', { uncachedInput: 1000, output: 200 });
      near(r.totals.cost_usd, expected, 'totals.cost_usd');
      await end(bridge, run.run_id);
      const root = await rootOf(run.run_id);
      assert.equal(root.attributes['oprelay.usage.cost_source'], 'mixed');
      near(root.attributes['oprelay.usage.cost_usd'], expected, 'root cost');
      const sources = root.events.filter((e) => e.name === 'oprelay.usage.report').map((e) => e.attributes['oprelay.usage.cost_source']);
      assert.deepEqual(sources, ['reported', 'computed']);
    });

    test('BRIDGE_COST_INFERENCE=off computes nothing: cost 0, cost_source unknown, no cost metric', async () => {
      const run = await start(costOff, 'feat-cost-off');
      const r = await report(costOff, run.run_id, { input_tokens: 8400, output_tokens: 1200, model: 'claude-opus-4', llm_calls: 1 }, [
        { model: 'gpt-4o', input_tokens: 1000, output_tokens: 200 },
      ]);
      assert.equal(r.totals.cost_usd, 0);
      await end(costOff, run.run_id);
      const root = await rootOf(run.run_id);
      assert.equal(root.attributes['oprelay.usage.cost_usd'], 0);
      assert.equal(root.attributes['oprelay.usage.cost_source'], 'unknown');
      assert.equal(root.attributes['gen_ai.usage.input_tokens'], 8400);
      const [entry] = entrySpansOf(run.run_id);
      assert.equal(entry?.attributes['oprelay.usage.cost_source'], 'unknown');
      assert.equal(entry.attributes['oprelay.trace.cost_usd'], undefined);
      const metrics = await costOff.get('/metrics');
      assert.equal(counter(metrics.text, 'oprelay_usage_cost_total', { oprelay_project_key: 'feat-cost-off' }), undefined);
      assert.equal(
        counter(metrics.text, 'oprelay_usage_tokens_total', { oprelay_project_key: 'feat-cost-off', gen_ai_token_type: 'input' }),
        8400,
      );
    });
  });

  describe('sub-agent runs', () => {
    test('parent → child → grandchild arrive as one connected trace; GET shows children and totals_with_children', async () => {
      const parent = await start(bridge, 'feat-tree', { agent_name: 'planner' });
      const child = await start(bridge, 'feat-tree', { agent_name: 'coder', parent_run_id: parent.run_id.toUpperCase() });
      const grandchild = await start(bridge, 'feat-tree', { agent_name: 'tester', parent_run_id: child.run_id });
      assert.equal(child.trace_id, hex(parent.run_id), 'the child joins the parent trace');
      assert.equal(grandchild.trace_id, hex(parent.run_id));

      await report(bridge, parent.run_id, { input_tokens: 100, output_tokens: 10, cost_usd: 0.5, llm_calls: 1 });
      await report(bridge, child.run_id, { input_tokens: 200, output_tokens: 20, cost_usd: 0.25, llm_calls: 2 });
      await report(bridge, grandchild.run_id, { input_tokens: 400, output_tokens: 40, cost_usd: 0.125, llm_calls: 4 });
      // children end (and are exported) before the parent's root exists
      await end(bridge, grandchild.run_id);
      await end(bridge, child.run_id);
      const childRoot = await rootOf(child.run_id);
      await end(bridge, parent.run_id);

      const [parentRoot, grandRoot] = [await rootOf(parent.run_id), await rootOf(grandchild.run_id)];
      const traceId = hex(parent.run_id);
      for (const s of [parentRoot, childRoot, grandRoot]) assert.equal(s.traceId, traceId, `${s.name} is in the parent's trace`);
      assert.equal(parentRoot.parentSpanId, '');
      assert.equal(childRoot.parentSpanId, parentRoot.spanId);
      assert.equal(grandRoot.parentSpanId, childRoot.spanId);
      assert.equal(childRoot.attributes['oprelay.run.parent_id'], parent.run_id);
      assert.equal(grandRoot.attributes['oprelay.run.parent_id'], child.run_id);
      assert.equal(parentRoot.attributes['oprelay.run.parent_id'], undefined);
      assert.equal(child.traceparent, `00-${traceId}-${childRoot.spanId}-01`);
      const starts = receiver.byTrace(traceId).filter((s) => s.name === 'start_run');
      assert.deepEqual(new Set(starts.map((s) => s.parentSpanId)), new Set([parentRoot.spanId, childRoot.spanId, grandRoot.spanId]));

      const p = await bridge.get(`/v1/runs/${parent.run_id}`);
      assert.equal(p.status, 200);
      assert.deepEqual(p.body.children, [child.run_id]);
      assert.deepEqual(p.body.totals, { input_tokens: 100, output_tokens: 10, total_tokens: 110, cost_usd: 0.5, llm_calls: 1 });
      assert.deepEqual(p.body.totals_with_children, {
        input_tokens: 700,
        output_tokens: 70,
        total_tokens: 770,
        cost_usd: 0.875,
        llm_calls: 7,
      });
      const c = await bridge.get(`/v1/runs/${child.run_id}`);
      assert.deepEqual(c.body.children, [grandchild.run_id]);
      assert.equal(c.body.parent_run_id, parent.run_id);
      assert.deepEqual(c.body.totals_with_children, {
        input_tokens: 600,
        output_tokens: 60,
        total_tokens: 660,
        cost_usd: 0.375,
        llm_calls: 6,
      });
      const g = await bridge.get(`/v1/runs/${grandchild.run_id}`);
      assert.deepEqual(g.body.children, []);
      assert.deepEqual(g.body.totals_with_children, g.body.totals);
    });

    test('a parent in another project is run_not_found (404), and nothing is created', async () => {
      const foreign = await start(bridge, 'feat-other-project');
      const childId = randomUUID();
      const r = await bridge.tool('core_start_run', {
        project_key: 'feat-tree',
        agent_id: AGENT_ID,
        run_id: childId,
        meta_json: { parent_run_id: foreign.run_id },
      });
      assert.equal(r.status, 404);
      assert.equal(r.body.error.code, 'run_not_found');
      assert.equal((await bridge.get(`/v1/runs/${childId}`)).status, 404);
      const missing = await bridge.tool('core_start_run', {
        project_key: 'feat-tree',
        agent_id: AGENT_ID,
        meta_json: { parent_run_id: randomUUID() },
      });
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error.code, 'run_not_found');
    });

    test('a parent_run_id that is not a run UUID is a 400 naming meta_json.parent_run_id', async () => {
      for (const bad of ['run-42', 42, '00000000-0000-0000-0000-000000000000']) {
        const r = await bridge.tool('core_start_run', { project_key: 'feat-tree', agent_id: AGENT_ID, meta_json: { parent_run_id: bad } });
        assert.equal(r.status, 400, `parent_run_id ${JSON.stringify(bad)}`);
        assert.equal(r.body.error.code, 'invalid_argument');
        assert.deepEqual(
          r.body.error.details.map((d: { path: string }) => d.path),
          ['meta_json.parent_run_id'],
        );
      }
      const self = randomUUID();
      const r = await bridge.tool('core_start_run', {
        project_key: 'feat-tree',
        agent_id: AGENT_ID,
        run_id: self,
        meta_json: { parent_run_id: self },
      });
      assert.equal(r.status, 400);
      assert.match(r.body.error.message, /meta_json\.parent_run_id/);
    });

    test('a child started after a bridge restart still hangs under the parent root', async () => {
      const parent = await start(bridge, 'feat-restart');
      assert.equal(await bridge.stop(), 0);
      await bridge.spawn();
      const child = await start(bridge, 'feat-restart', { parent_run_id: parent.run_id });
      await end(bridge, child.run_id);
      await end(bridge, parent.run_id);
      const [parentRoot, childRoot] = [await rootOf(parent.run_id), await rootOf(child.run_id)];
      assert.equal(childRoot.traceId, parentRoot.traceId);
      assert.equal(childRoot.parentSpanId, parentRoot.spanId);
      assert.deepEqual((await bridge.get(`/v1/runs/${parent.run_id}`)).body.children, [child.run_id]);
    });
  });

  test('meta_json.session_id → session.id and gen_ai.conversation.id on the root (neither without one)', async () => {
    const withSession = await start(bridge, 'feat-session', { session_id: 'chat-2024-06-01-alice' });
    const without = await start(bridge, 'feat-session');
    await end(bridge, withSession.run_id);
    await end(bridge, without.run_id);
    const a = await rootOf(withSession.run_id);
    assert.equal(a.attributes['session.id'], 'chat-2024-06-01-alice');
    assert.equal(a.attributes['gen_ai.conversation.id'], 'chat-2024-06-01-alice');
    assert.equal(a.attributes['oprelay.meta.session_id'], 'chat-2024-06-01-alice');
    const b = await rootOf(without.run_id);
    assert.equal(b.attributes['session.id'], undefined);
    assert.equal(b.attributes['gen_ai.conversation.id'], undefined, 'no session per run in Phoenix');
  });

  describe('BRIDGE_TRACE_ENTRIES', () => {
    const entries = [
      { type: 'llm', model: 'gpt-4o', input_tokens: 1000, output_tokens: 200, status: 'ok' },
      { tool: 'run_tests', duration_ms: 1200, status: 'error', error: 'AssertionError: 3 tests failed' },
      { name: 'plan', duration_ms: 5 },
    ];

    async function runWithEntries(b: BridgeProcess, project: string) {
      const run = await start(b, project);
      await report(b, run.run_id, { input_tokens: 3000, output_tokens: 400, cost_usd: 0.02, model: 'gpt-4o', llm_calls: 2 }, entries);
      await report(b, run.run_id, { input_tokens: 1000, output_tokens: 100, model: 'gpt-4o', llm_calls: 1 }, entries);
      await end(b, run.run_id);
      const expectedCost = 0.02 + listPrice('gpt-4o', { uncachedInput: 1000, output: 100 });
      const root = await rootOf(run.run_id);
      assert.equal(root.attributes['gen_ai.usage.input_tokens'], 4000);
      assert.equal(root.attributes['gen_ai.usage.output_tokens'], 500);
      assert.equal(root.attributes['oprelay.usage.llm_calls'], 3);
      near(root.attributes['oprelay.usage.cost_usd'], expectedCost, 'root cost');
      assert.equal(root.events.filter((e) => e.name === 'oprelay.usage.report').length, 2);
      const view = await b.get(`/v1/runs/${run.run_id}`);
      assert.deepEqual(
        { ...view.body.totals, cost_usd: 0 },
        { input_tokens: 4000, output_tokens: 500, total_tokens: 4500, cost_usd: 0, llm_calls: 3 },
      );
      const metrics = await b.get('/metrics');
      assert.equal(counter(metrics.text, 'oprelay_usage_tokens_total', { oprelay_project_key: project, gen_ai_token_type: 'input' }), 4000);
      near(counter(metrics.text, 'oprelay_usage_cost_total', { oprelay_project_key: project }), expectedCost, 'cost metric');
      // the relay drains in enqueue order: the entries of both reports were sent no later than the root
      return { run, root, expectedCost };
    }

    /** What the run's LLM-kind spans carry, summed: what Phoenix and Langfuse add up. */
    function llmSums(runId: string) {
      const llm = receiver.byTrace(hex(runId)).filter((s) => s.attributes['openinference.span.kind'] === 'LLM');
      const sum = (key: string) => llm.reduce((n, s) => n + Number(s.attributes[key] ?? 0), 0);
      return { input: sum('gen_ai.usage.input_tokens'), output: sum('gen_ai.usage.output_tokens'), cost: sum('llm.cost.total') };
    }

    test('errors keeps only errored entry spans; totals, events and metrics stay exact', async () => {
      const { run, root, expectedCost } = await runWithEntries(errorsOnly, 'feat-entries-errors');
      // no LLM entry exported: the bridge's own LLM spans carry every token and dollar, once
      const sums = llmSums(run.run_id);
      assert.deepEqual([sums.input, sums.output], [4000, 500]);
      near(sums.cost, expectedCost, 'LLM spans cost');
      assert.equal(root.attributes['oprelay.usage.spans_above_totals'], undefined);
      const spans = entrySpansOf(run.run_id);
      assert.deepEqual(
        spans.map((s) => s.name),
        ['execute_tool run_tests', 'execute_tool run_tests'],
      );
      for (const s of spans) {
        assert.equal(s.status.code, 2);
        assert.equal(s.parentSpanId, root.spanId);
        assert.equal(s.attributes['error.type'], 'AssertionError');
      }
    });

    test('none exports no entry spans; totals, events and metrics stay exact', async () => {
      const { run, expectedCost } = await runWithEntries(noEntries, 'feat-entries-none');
      assert.deepEqual(entrySpansOf(run.run_id), []);
      const sums = llmSums(run.run_id);
      assert.deepEqual([sums.input, sums.output], [4000, 500]);
      near(sums.cost, expectedCost, 'LLM spans cost');
      assert.equal(receiver.byTrace(hex(run.run_id)).filter((s) => s.name === 'start_run').length, 1);
    });

    test('all (the default) exports every entry', async () => {
      const { run, root } = await runWithEntries(bridge, 'feat-entries-all');
      // the second report's entry claims 200 output tokens of a batch of 100: the spans carry 100 more
      // than the run counts, and the root says so
      const sums = llmSums(run.run_id);
      assert.deepEqual([sums.input, sums.output], [4000, 600]);
      assert.equal(root.attributes['oprelay.usage.spans_above_totals'], true);
      assert.deepEqual(
        entrySpansOf(run.run_id)
          .map((s) => s.name)
          .sort(),
        ['chat gpt-4o', 'chat gpt-4o', 'execute_tool run_tests', 'execute_tool run_tests', 'plan', 'plan'],
      );
    });
  });
});
