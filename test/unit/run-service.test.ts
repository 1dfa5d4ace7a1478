import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { BridgeError } from '../../src/errors.js';
import { toLiveRun } from '../../src/http/live-run.js';
import { summaryAfterType } from '../../src/runs/failure-record.js';
import { RunService, type RunServiceOptions } from '../../src/runs/run-service.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { STATUS_CODE } from '../../src/telemetry/span-record.js';
import { parseToolArgs } from '../../src/tools/validate.js';
import { drainOutbox, FakeClock, RecordingMetrics } from './fakes.js';

// RunService in-process: a memory store, a recording metrics sink and a clock moved by hand.

const RUN = '0b7e6f2a-1c3d-4e5f-8a9b-0c1d2e3f4a5b';
const AGENT = '11111111-2222-4333-8444-555555555555';

let store: MemoryStore;
let metrics: RecordingMetrics;
let clock: FakeClock;
let service: RunService;

function build(overrides: Partial<RunServiceOptions> = {}): RunService {
  return new RunService({
    store,
    metrics,
    endUsage: 'final',
    captureContent: true,
    traceEntries: 'all',
    traceUrl: 'http://jaeger.test/trace/{trace_id}',
    now: clock.now,
    ...overrides,
  });
}

const start = (extra: Record<string, unknown> = {}) =>
  service.startRun(parseToolArgs('core_start_run', { project_key: 'shop', agent_id: AGENT, run_id: RUN, ...extra }), {});
const report = (usage: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  service.reportUsage(parseToolArgs('core_report_usage', { run_id: RUN, token_usage: usage, ...extra }), {});
const end = (args: Record<string, unknown>) => service.endRun(parseToolArgs('core_end_run', { run_id: RUN, ...args }), {});

beforeEach(async () => {
  store = new MemoryStore();
  await store.init();
  metrics = new RecordingMetrics();
  clock = new FakeClock();
  service = build();
});

describe('RunService', () => {
  it('start → report → end: result shapes, stored times from the clock, spans and metric effects', async () => {
    const t0 = clock.time;
    const started = await start({ summary: 'refund order 42', meta_json: { agent_name: 'refunder' } });
    assert.deepEqual(started, {
      run_id: RUN,
      trace_id: '0b7e6f2a1c3d4e5f8a9b0c1d2e3f4a5b',
      traceparent: `00-0b7e6f2a1c3d4e5f8a9b0c1d2e3f4a5b-${(await store.getRun(RUN))!.root_span_id}-01`,
      trace_url: 'http://jaeger.test/trace/0b7e6f2a1c3d4e5f8a9b0c1d2e3f4a5b',
    });
    const startSpans = await drainOutbox(store, clock.time);
    assert.deepEqual(
      startSpans.map((s) => [s.name, s.start]),
      [['start_run', t0]],
    );

    clock.advance(1_000);
    const reported = await report({ input_tokens: 1200, output_tokens: 300, cost_usd: 0.0125, model: 'gpt-4o', llm_calls: 1 });
    assert.deepEqual(reported, {
      run_id: RUN,
      totals: { input_tokens: 1200, output_tokens: 300, total_tokens: 1500, cost_usd: 0.0125, llm_calls: 1 },
    });

    clock.advance(4_000);
    const ended = await end({ status: 'completed', summary: 'refunded' });
    assert.equal(ended.status, 'completed');
    assert.equal(ended.totals.total_tokens, 1500);

    const spans = await drainOutbox(store, clock.time);
    assert.deepEqual(
      spans.map((s) => s.name),
      ['chat gpt-4o', 'invoke_agent refunder'],
      'usage without trace entries is carried by an LLM span of its own',
    );
    const [chat, root] = spans;
    assert.equal(chat.attributes['openinference.span.kind'], 'LLM');
    assert.equal(chat.attributes['oprelay.usage.uncovered_by'], 'usage_report');
    assert.equal(chat.attributes['gen_ai.usage.input_tokens'], 1200);
    assert.equal(chat.attributes['gen_ai.usage.output_tokens'], 300);
    assert.equal(chat.attributes['llm.cost.total'], 0.0125);
    assert.deepEqual([chat.start, chat.end], [t0, t0 + 1_000], 'from the previous activity to the report');
    assert.equal(chat.parent_span_id, root.span_id);
    assert.equal(root.name, 'invoke_agent refunder');
    assert.equal(root.start, t0);
    assert.equal(root.end, t0 + 5_000);
    assert.deepEqual(root.status, { code: STATUS_CODE.OK });
    assert.equal(root.events.length, 1);
    assert.equal(root.events[0].name, 'oprelay.usage.report');
    assert.equal(root.events[0].time, t0 + 1_000);
    assert.equal(root.events[0].attributes['gen_ai.usage.input_tokens'], 1200);

    assert.deepEqual(metrics.effects, [
      { kind: 'run_started', project: 'shop' },
      {
        kind: 'usage',
        project: 'shop',
        runStartedAt: t0,
        model: 'gpt-4o',
        delta: { input_tokens: 1200, output_tokens: 300, total_tokens: 1500, cost_usd: 0.0125, llm_calls: 1 },
      },
      {
        kind: 'genai_operation',
        project: 'shop',
        operation: 'chat',
        durationS: 1,
        uncovered: true,
        model: 'gpt-4o',
        inputTokens: 1200,
        outputTokens: 300,
      },
      { kind: 'run_ended', project: 'shop', status: 'completed', reason: 'agent', durationS: 5 },
      { kind: 'genai_operation', project: 'shop', operation: 'invoke_agent', durationS: 5, uncovered: false, agentName: 'refunder' },
    ]);
  });

  it("a client's `Type: message` failure summary shows its type once on the live pages", async () => {
    await start();
    // the Python client: the traceback names the type qualified; the summary starts with its short name
    await service.recordFailure(
      parseToolArgs('core_record_failure', {
        project_key: 'shop',
        run_id: RUN,
        agent_id: AGENT,
        summary: 'DeployError: kubectl apply exited 1',
        error:
          'Traceback (most recent call last):\n  File "deploy.py", line 3, in <module>\n    apply()\ndeploy.DeployError: kubectl apply exited 1',
        meta: { error_type: 'DeployError' },
      }),
      {},
    );
    await end({ status: 'failed', summary: 'DeployError: kubectl apply exited 1' });
    const run = (await store.getRun(RUN))!;
    assert.equal(toLiveRun(run, service.view(run)).reason, 'deploy.DeployError: kubectl apply exited 1');
    assert.equal(summaryAfterType('TypeError: x is undefined', 'TypeError'), 'x is undefined', 'the TypeScript clients');
    assert.equal(summaryAfterType('timeout talking to the DB', 'TimeoutError'), 'timeout talking to the DB', 'no prefix, nothing cut');
    assert.equal(summaryAfterType('DeployError: ', 'DeployError'), 'DeployError: ', 'never cut to nothing');
  });

  it('a call that fails changes nothing and applies no metric effect', async () => {
    await start();
    await end({ status: 'completed' });
    const before = metrics.effects.length;
    const stored = await store.getRun(RUN);
    await assert.rejects(report({ input_tokens: 5 }), (err: unknown) => err instanceof BridgeError && err.code === 'run_ended');
    assert.equal(metrics.effects.length, before);
    assert.deepEqual(await store.getRun(RUN), stored);
  });

  it('an end with another status is a 409 and a repeat with the same status applies nothing twice', async () => {
    await start();
    await end({ status: 'failed', summary: 'gave up' });
    const before = metrics.effects.length;
    assert.deepEqual(await end({ status: 'failed' }).then((r) => ('already_ended' in r ? r.already_ended : undefined)), true);
    await assert.rejects(
      end({ status: 'completed' }),
      (err: unknown) => err instanceof BridgeError && err.code === 'run_already_ended' && err.status === 409,
    );
    assert.equal(metrics.effects.length, before);
  });

  it('an idempotency key answers the first result with duplicate: true and counts usage once', async () => {
    const committed: number[] = [];
    service = build({ onSpansCommitted: (count) => committed.push(count) });
    await start();
    const first = await report({ input_tokens: 10, output_tokens: 5 }, { idempotency_key: 'batch-1' });
    const again = await report({ input_tokens: 10, output_tokens: 5 }, { idempotency_key: 'batch-1' });
    assert.deepEqual(again, { ...first, duplicate: true });
    assert.equal(committed.length, 2, 'the relay hears of the start and the first report, not of the duplicate');
    assert.equal(committed[0]! + committed[1]!, (await drainOutbox(store, clock.time)).length);
    assert.equal((await store.getRun(RUN))!.totals.input_tokens, 10);
    assert.equal(metrics.effects.filter((e) => e.kind === 'usage').length, 1);
  });

  it('final usage lower than reported keeps the larger figures, flags the mismatch and sends no negative delta', async () => {
    await start();
    await report({ input_tokens: 8000, output_tokens: 400 });
    await end({ status: 'completed', token_usage: { input_tokens: 7000, output_tokens: 900 } });
    const run = (await store.getRun(RUN))!;
    assert.equal(run.totals.input_tokens, 8000);
    assert.equal(run.totals.output_tokens, 900);
    assert.equal(run.final_mismatch, true);
    const usage = metrics.effects.filter((e) => e.kind === 'usage');
    assert.deepEqual(
      usage.map((e) => (e.kind === 'usage' ? [e.delta.input_tokens, e.delta.output_tokens] : [])),
      [
        [8000, 400],
        [0, 500],
      ],
    );
    const spans = await drainOutbox(store, clock.time);
    assert.equal(spans.at(-1)!.attributes['oprelay.usage.final_mismatch'], true);
  });

  it('BRIDGE_END_USAGE=increment adds the end call usage to what was reported', async () => {
    service = build({ endUsage: 'increment' });
    await start();
    await report({ input_tokens: 100 });
    await end({ status: 'completed', token_usage: { input_tokens: 40 } });
    assert.equal((await store.getRun(RUN))!.totals.input_tokens, 140);
  });

  it('reap ends an idle run at its last activity; a late end still counts and answers reaped: true', async () => {
    await start();
    clock.advance(2_000);
    await report({ input_tokens: 50 });
    const lastActivity = clock.time;
    await drainOutbox(store, clock.time);
    clock.advance(60_000);
    assert.equal(await service.reap(RUN, clock.time - 30_000, clock.time - 86_400_000), true);
    const reaped = (await store.getRun(RUN))!;
    assert.equal(reaped.status, 'interrupted');
    assert.equal(reaped.end_reason, 'idle_timeout');
    assert.equal(reaped.ended_at, lastActivity);
    assert.equal(await service.reap(RUN, clock.time, clock.time), false);

    clock.advance(1_000);
    const late = await end({ status: 'completed', summary: 'done late', token_usage: { input_tokens: 80 } });
    assert.deepEqual(
      [late.status, 'reaped' in late && late.reaped, 'already_ended' in late && late.already_ended],
      ['interrupted', true, true],
    );
    const spans = await drainOutbox(store, clock.time);
    assert.deepEqual(
      spans.map((s) => s.name),
      ['invoke_agent', 'chat', 'late_end_run'],
    );
    const [, chat, lateSpan] = spans;
    assert.equal(lateSpan.attributes['oprelay.late_end.status'], 'completed');
    assert.equal(lateSpan.attributes['oprelay.late_end.input_tokens'], 30);
    assert.equal(lateSpan.attributes['gen_ai.usage.input_tokens'], undefined, 'the late tokens are carried by the LLM span only');
    assert.equal(chat.attributes['oprelay.usage.uncovered_by'], 'run_totals');
    assert.equal(chat.attributes['gen_ai.usage.input_tokens'], 30);
    assert.equal(chat.attributes['openinference.span.kind'], 'LLM');
    assert.deepEqual(metrics.effects.at(-2), {
      kind: 'usage',
      project: 'shop',
      runStartedAt: (await store.getRun(RUN))!.started_at,
      model: '',
      delta: { input_tokens: 30, output_tokens: 0, total_tokens: 30, cost_usd: 0, llm_calls: 0 },
    });
  });

  it('a failure before the start creates the run; the later start joins it without a second run_started', async () => {
    const failed = await service.recordFailure(
      parseToolArgs('core_record_failure', {
        project_key: 'shop',
        run_id: RUN,
        agent_id: AGENT,
        summary: 'payment API down',
        error: 'TimeoutError: upstream took 30s',
      }),
      {},
    );
    assert.equal(failed.run_id, RUN);
    assert.equal(failed.trace_id, '0b7e6f2a1c3d4e5f8a9b0c1d2e3f4a5b');
    await start();
    await end({ status: 'failed' });
    assert.deepEqual(
      metrics.effects.map((e) => e.kind),
      ['run_started', 'failure', 'run_ended', 'genai_operation'],
    );
    assert.deepEqual(metrics.effects[3], {
      kind: 'genai_operation',
      project: 'shop',
      operation: 'invoke_agent',
      durationS: 0,
      uncovered: false,
      errorType: 'TimeoutError',
    });
    assert.deepEqual(metrics.effects[1], { kind: 'failure', project: 'shop', errorType: 'TimeoutError' });
    const root = (await drainOutbox(store, clock.time)).at(-1)!;
    assert.equal(root.attributes['error.type'], 'TimeoutError');
    assert.deepEqual(
      root.events.map((e) => [e.name, e.attributes['exception.type'], e.attributes['exception.message']]),
      [['exception', 'TimeoutError', 'payment API down']],
    );
  });

  it('another project sees the run as not found and the caller key scope is enforced', async () => {
    await start();
    await assert.rejects(
      service.getRun(RUN, { projects: ['billing'] }),
      (err: unknown) => err instanceof BridgeError && err.code === 'run_not_found',
    );
    await assert.rejects(
      service.startRun(parseToolArgs('core_start_run', { project_key: 'shop', agent_id: AGENT }), { projects: ['billing'] }),
      (err: unknown) => err instanceof BridgeError && err.code === 'forbidden',
    );
    assert.equal((await service.getRun(RUN, { projects: ['shop'] })).status, 'running');
  });
});
