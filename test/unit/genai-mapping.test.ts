import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { GenAiOperationEffect } from '../../src/runs/effects.js';
import { GenAiPricesCalculator } from '../../src/runs/pricing.js';
import { RunService, type RunServiceOptions } from '../../src/runs/run-service.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { STATUS_CODE, type SpanRecord } from '../../src/telemetry/span-record.js';
import { parseToolArgs } from '../../src/tools/validate.js';
import { drainOutbox, FakeClock, RecordingMetrics } from './fakes.js';

// The GenAI mapping (docs/architecture.md#opentelemetry-mapping): span kinds, the token rule
// (every token and dollar on exactly one LLM span) and cost keys; where the names live is in
// genai-names.test.ts.

const RUN = '9f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const AGENT = '6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b';

let store: MemoryStore;
let metrics: RecordingMetrics;
let clock: FakeClock;
let service: RunService;

function build(overrides: Partial<RunServiceOptions> = {}): RunService {
  return new RunService({ store, metrics, endUsage: 'final', captureContent: true, traceEntries: 'all', now: clock.now, ...overrides });
}

beforeEach(async () => {
  store = new MemoryStore();
  await store.init();
  metrics = new RecordingMetrics();
  clock = new FakeClock();
  service = build();
});

const call = {
  start: (extra: Record<string, unknown> = {}) =>
    service.startRun(parseToolArgs('core_start_run', { project_key: 'myproject', agent_id: AGENT, run_id: RUN, ...extra }), {}),
  report: (args: Record<string, unknown>) => service.reportUsage(parseToolArgs('core_report_usage', { run_id: RUN, ...args }), {}),
  end: (args: Record<string, unknown>) => service.endRun(parseToolArgs('core_end_run', { run_id: RUN, ...args }), {}),
};

const kind = (s: SpanRecord) => s.attributes['openinference.span.kind'];
const llmSpans = (spans: SpanRecord[]) => spans.filter((s) => kind(s) === 'LLM');
function sums(spans: SpanRecord[]) {
  const add = (key: string) => llmSpans(spans).reduce((n, s) => n + Number(s.attributes[key] ?? 0), 0);
  return {
    input: add('gen_ai.usage.input_tokens'),
    output: add('gen_ai.usage.output_tokens'),
    cost: Math.round(add('llm.cost.total') * 1e9) / 1e9,
  };
}
/** The spans a backend summing every observation would add usage from: not the invoke_agent root. */
const summedByLangfuse = (spans: SpanRecord[]) => spans.filter((s) => s.attributes['gen_ai.operation.name'] !== 'invoke_agent');

/** The README's seed flow. */
async function seedFlow(): Promise<SpanRecord[]> {
  await call.start({ summary: 'Deploying rate limiter to staging', meta_json: { agent_name: 'deployer', env: 'staging' } });
  clock.advance(1_000);
  await call.report({
    token_usage: { input_tokens: 8400, output_tokens: 1200, cost_usd: 0.028, model: 'claude-opus-4', llm_calls: 3 },
    traces: [
      { type: 'llm', model: 'claude-opus-4', input_tokens: 5200, output_tokens: 700, duration_ms: 2100 },
      { type: 'tool', tool: 'kubectl', duration_ms: 640, status: 'ok' },
    ],
    idempotency_key: 'batch-0001',
  });
  clock.advance(1_000);
  await service.recordFailure(
    parseToolArgs('core_record_failure', {
      project_key: 'myproject',
      run_id: RUN,
      agent_id: AGENT,
      summary: 'Database connection timeout during migration',
      error: 'Error: connect ETIMEDOUT 10.0.0.5:5432',
    }),
    {},
  );
  clock.advance(1_000);
  await call.end({
    status: 'completed',
    summary: 'Rate limiter deployed and verified in staging',
    token_usage: { input_tokens: 12400, output_tokens: 3200, cost_usd: 0.042, model: 'claude-opus-4', llm_calls: 7 },
  });
  return drainOutbox(store, clock.time);
}

describe('the token rule: every token and dollar the run counts on exactly one LLM span', () => {
  it('the seed flow: the entry, the rest of the report and the rest of the final totals; sums = the run totals', async () => {
    const spans = await seedFlow();
    const root = spans.find((s) => s.name === 'invoke_agent deployer')!;
    assert.deepEqual(
      spans.map((s) => [s.name, kind(s), s.attributes['oprelay.usage.uncovered_by'] ?? null]),
      [
        ['start_run', 'CHAIN', null],
        ['chat claude-opus-4', 'LLM', null],
        ['execute_tool kubectl', 'TOOL', null],
        ['chat claude-opus-4', 'LLM', 'usage_report'],
        ['chat claude-opus-4', 'LLM', 'run_totals'],
        ['invoke_agent deployer', 'AGENT', null],
      ],
    );
    // the per-span figures docs/tools.md shows for the seed run
    assert.deepEqual(
      llmSpans(spans).map((s) => [
        s.attributes['gen_ai.usage.input_tokens'],
        s.attributes['gen_ai.usage.output_tokens'],
        s.attributes['llm.cost.total'],
      ]),
      [
        [5200, 700, undefined],
        [3200, 500, 0.028],
        [4000, 2000, 0.014],
      ],
    );
    assert.deepEqual(sums(spans), { input: 12400, output: 3200, cost: 0.042 });
    assert.deepEqual(sums(summedByLangfuse(spans)), { input: 12400, output: 3200, cost: 0.042 }, 'the root is never added');
    assert.equal(root.attributes['gen_ai.usage.input_tokens'], 12400);
    assert.equal(root.attributes['llm.cost.total'], 0.042);
    assert.equal(root.attributes['llm.token_count.total'], undefined);
    assert.equal(root.attributes['oprelay.usage.spans_above_totals'], undefined);
    for (const s of spans.filter((x) => kind(x) !== 'LLM' && x !== root)) {
      assert.equal(s.attributes['gen_ai.usage.input_tokens'], undefined, `${s.name} carries no tokens`);
      assert.equal(s.attributes['llm.cost.total'], undefined, `${s.name} carries no cost`);
    }
    // the run's own figures and metrics are unchanged by the rule
    const run = (await store.getRun(RUN))!;
    assert.deepEqual(run.totals, { input_tokens: 12400, output_tokens: 3200, total_tokens: 15600, cost_usd: 0.042, llm_calls: 7 });
    const usage = metrics.effects.filter((e) => e.kind === 'usage');
    assert.equal(
      usage.reduce((n, e) => n + (e.kind === 'usage' ? e.delta.input_tokens : 0), 0),
      12400,
    );
    // the GenAI token metric counts exactly what the LLM spans carry
    const chats = metrics.effects.filter((e): e is GenAiOperationEffect => e.kind === 'genai_operation' && e.operation === 'chat');
    assert.deepEqual(
      [chats.reduce((n, e) => n + (e.inputTokens ?? 0), 0), chats.reduce((n, e) => n + (e.outputTokens ?? 0), 0)],
      [12400, 3200],
    );
    assert.deepEqual(
      chats.map((e) => e.uncovered),
      [false, true, true],
    );
  });

  it('usage reported without llm entries: one LLM span per report, none at the end when nothing is left', async () => {
    await call.start();
    for (const n of [1, 2]) {
      clock.advance(500);
      await call.report({ token_usage: { input_tokens: 100 * n, output_tokens: 10 * n, cost_usd: 0.001 * n, model: 'gpt-4o' } });
    }
    clock.advance(500);
    await call.end({ status: 'completed' });
    const spans = await drainOutbox(store, clock.time);
    assert.deepEqual(
      llmSpans(spans).map((s) => [s.name, s.attributes['oprelay.usage.uncovered_by'], s.start, s.end]),
      [
        ['chat gpt-4o', 'usage_report', clock.time - 1_500, clock.time - 1_000],
        ['chat gpt-4o', 'usage_report', clock.time - 1_000, clock.time - 500],
      ],
    );
    assert.deepEqual(sums(spans), { input: 300, output: 30, cost: 0.003 });
  });

  it('a failed run that only reports final totals: its LLM span carries them, the root is ERROR', async () => {
    await call.start({ meta_json: { agent_name: 'migrator' } });
    clock.advance(2_000);
    await call.end({
      status: 'failed',
      summary: 'gave up',
      token_usage: { input_tokens: 900, output_tokens: 90, cost_usd: 0.05, model: 'gpt-4o' },
    });
    const spans = await drainOutbox(store, clock.time);
    const [llm] = llmSpans(spans);
    assert.equal(llm.attributes['oprelay.usage.uncovered_by'], 'run_totals');
    assert.deepEqual(sums(spans), { input: 900, output: 90, cost: 0.05 });
    const root = spans.at(-1)!;
    assert.equal(root.status.code, STATUS_CODE.ERROR);
    assert.equal(root.attributes['output.value'], 'gave up');
  });

  it('BRIDGE_END_USAGE=increment: the end batch is added and carried the same way', async () => {
    service = build({ endUsage: 'increment' });
    await call.start();
    await call.report({ token_usage: { input_tokens: 100, output_tokens: 10 } });
    await call.end({ status: 'completed', token_usage: { input_tokens: 50, output_tokens: 5 } });
    const spans = await drainOutbox(store, clock.time);
    assert.deepEqual(sums(spans), { input: 150, output: 15, cost: 0 });
    assert.equal(llmSpans(spans)[0].name, 'chat', 'no model: the operation name alone');
    assert.equal(llmSpans(spans)[0].attributes['llm.cost.total'], undefined, 'no cost known: none claimed (a backend may price it)');
  });

  it('entries that claim more than the report: the spans carry more and the root says so', async () => {
    await call.start();
    await call.report({
      token_usage: { input_tokens: 100, output_tokens: 10, cost_usd: 0.01 },
      traces: [{ type: 'llm', input_tokens: 300, output_tokens: 5 }],
    });
    await call.end({ status: 'completed' });
    const spans = await drainOutbox(store, clock.time);
    assert.deepEqual(sums(spans), { input: 300, output: 10, cost: 0.01 });
    assert.equal(spans.at(-1)!.attributes['oprelay.usage.spans_above_totals'], true);
  });

  it('computed cost: an entry its priced share with the prompt/completion split, the rest on the uncovered span', async () => {
    service = build({ pricing: new GenAiPricesCalculator(() => new Date('2026-01-15T00:00:00Z')) });
    await call.start();
    await call.report({
      token_usage: { input_tokens: 8400, output_tokens: 1200, model: 'claude-opus-4' },
      traces: [{ type: 'llm', model: 'gpt-4o', input_tokens: 1000, output_tokens: 200 }],
    });
    await call.end({ status: 'completed' });
    const spans = await drainOutbox(store, clock.time);
    const run = (await store.getRun(RUN))!;
    const [entry, rest] = llmSpans(spans);
    assert.equal(entry.attributes['gen_ai.provider.name'], 'openai');
    assert.equal(rest.attributes['gen_ai.provider.name'], 'anthropic');
    const split = Number(entry.attributes['llm.cost.prompt']) + Number(entry.attributes['llm.cost.completion']);
    assert.ok(Math.abs(split - Number(entry.attributes['llm.cost.total'])) < 1e-9, 'prompt + completion = total');
    assert.ok(Number(entry.attributes['llm.cost.total']) > 0);
    assert.equal(sums(spans).cost, Math.round(run.totals.cost_usd * 1e9) / 1e9, 'LLM span costs add up to the run cost');
    assert.deepEqual([sums(spans).input, sums(spans).output], [8400, 1200]);
  });

  it('a model the pricing data knows names its provider even when the agent gave the cost', async () => {
    service = build({ pricing: new GenAiPricesCalculator() });
    await call.start();
    await call.report({ token_usage: { input_tokens: 10, output_tokens: 1, cost_usd: 0.5, model: 'claude-opus-4' } });
    const [, llm] = await drainOutbox(store, clock.time);
    assert.equal(llm.attributes['gen_ai.provider.name'], 'anthropic');
    assert.equal(llm.attributes['llm.cost.total'], 0.5);
  });
});

describe('span kinds and columns', () => {
  it('only the root is invoke_agent; record_run is an AGENT span with its summary as input', async () => {
    const spans = await seedFlow();
    assert.deepEqual(
      spans.filter((s) => s.attributes['gen_ai.operation.name'] === 'invoke_agent').map((s) => s.name),
      ['invoke_agent deployer'],
    );
    const root = spans.at(-1)!;
    assert.equal(root.attributes['input.value'], 'Deploying rate limiter to staging');
    assert.equal(root.attributes['output.value'], 'Rate limiter deployed and verified in staging');
    assert.deepEqual(JSON.parse(String(root.attributes.metadata)), { agent_name: 'deployer', env: 'staging' });

    const recorded = await service.recordRun(
      parseToolArgs('record_run', {
        project_key: 'myproject',
        agent: 'claude-opus',
        summary: 'Implemented project isolation.',
        ticket: 'OPR-429',
      }),
      {},
    );
    const [span] = (await drainOutbox(store, clock.time)).filter((s) => s.trace_id === recorded.trace_id);
    assert.equal(span.name, 'record_run claude-opus');
    assert.equal(kind(span), 'AGENT');
    assert.equal(span.attributes['input.value'], 'Implemented project isolation.');
    assert.equal(span.attributes['gen_ai.operation.name'], undefined);
  });

  it('a redacted summary is redacted in input.value too', async () => {
    await call.start({ summary: 'deploy with token sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789' });
    await call.end({ status: 'completed' });
    const root = (await drainOutbox(store, clock.time)).at(-1)!;
    assert.equal(root.attributes['input.value'], root.attributes['oprelay.run.summary']);
    assert.doesNotMatch(String(root.attributes['input.value']), /abcdefghijklmnopqrstuvwxyz/);
  });
});
