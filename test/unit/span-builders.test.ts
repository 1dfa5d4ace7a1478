import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newRunRecord } from '../../src/runs/new-run.js';
import type { RunRecord } from '../../src/runs/model.js';
import { rootSpanIdOf } from '../../src/telemetry/ids.js';
import { recordRunSpan, rootSpan } from '../../src/telemetry/root-span.js';
import {
  capSpan,
  entrySpan,
  errorTypeOf,
  failureEvent,
  lateEndSpan,
  MAX_ATTRIBUTES,
  recordFailureSpan,
  startRunSpan,
} from '../../src/telemetry/run-spans.js';
import { SPAN_KIND, STATUS_CODE } from '../../src/telemetry/span-record.js';

// The span builders of src/telemetry: stored run → span records, with concrete attribute values.

const RUN = '0b7e6f2a-1c3d-4e5f-8a9b-0c1d2e3f4a5b';
const AGENT = '11111111-2222-4333-8444-555555555555';
const TRACE = '0b7e6f2a1c3d4e5f8a9b0c1d2e3f4a5b';
const T0 = Date.UTC(2026, 0, 15, 9, 0, 0);

function endedRun(changes: Partial<RunRecord> = {}): RunRecord {
  const run = newRunRecord(RUN, 'shop', AGENT, T0);
  Object.assign(run, {
    status: 'completed',
    end_reason: 'agent',
    ended_at: T0 + 5_000,
    last_activity_at: T0 + 5_000,
    summary: 'refund order 42',
    end_summary: 'refunded',
    meta: { agent_name: 'refunder', env: { region: 'eu-west-1' }, tags: ['a', 'b'] },
    totals: { input_tokens: 1200, output_tokens: 300, total_tokens: 1500, cost_usd: 0.0125, llm_calls: 2 },
    models: ['gpt-4o-mini', 'gpt-4o'],
    last_model: 'gpt-4o',
    cost_sources: ['reported'],
    ...changes,
  });
  return run;
}

describe('root span', () => {
  it('a completed run: name, ids, times, status OK and the usage and meta attributes', () => {
    const span = rootSpan(endedRun(), []);
    assert.equal(span.name, 'invoke_agent refunder');
    assert.equal(span.kind, SPAN_KIND.INTERNAL);
    assert.equal(span.trace_id, TRACE);
    assert.equal(span.span_id, rootSpanIdOf(RUN));
    assert.equal(span.parent_span_id, null);
    assert.deepEqual([span.start, span.end], [T0, T0 + 5_000]);
    assert.deepEqual(span.status, { code: STATUS_CODE.OK });
    assert.deepEqual(span.attributes, {
      'gen_ai.operation.name': 'invoke_agent',
      'openinference.span.kind': 'AGENT',
      'oprelay.project_key': 'shop',
      'oprelay.run.id': RUN,
      'oprelay.run.status': 'completed',
      'gen_ai.agent.id': AGENT,
      'gen_ai.agent.name': 'refunder',
      'oprelay.run.end_reason': 'agent',
      'oprelay.run.summary': 'refund order 42',
      'oprelay.run.end_summary': 'refunded',
      'gen_ai.usage.input_tokens': 1200,
      'gen_ai.usage.output_tokens': 300,
      'oprelay.usage.total_tokens': 1500,
      'oprelay.usage.cost_usd': 0.0125,
      'llm.cost.total': 0.0125,
      'oprelay.usage.llm_calls': 2,
      'gen_ai.request.model': 'gpt-4o',
      'oprelay.usage.models': ['gpt-4o-mini', 'gpt-4o'],
      'oprelay.usage.cost_source': 'reported',
      'input.value': 'refund order 42',
      'output.value': 'refunded',
      metadata: '{"agent_name":"refunder","env":{"region":"eu-west-1"},"tags":["a","b"]}',
      'oprelay.meta.agent_name': 'refunder',
      'oprelay.meta.env.region': 'eu-west-1',
      'oprelay.meta.tags': '["a","b"]',
    });
  });

  it('a run with a session: gen_ai.conversation.id and session.id; without one neither (no session per run)', () => {
    const span = rootSpan(endedRun({ session_id: 'conv-7' }), []);
    assert.equal(span.attributes['gen_ai.conversation.id'], 'conv-7');
    assert.equal(span.attributes['session.id'], 'conv-7');
    const plain = rootSpan(endedRun(), []);
    assert.equal(plain.attributes['gen_ai.conversation.id'], undefined);
    assert.equal(plain.attributes['session.id'], undefined);
  });

  it('a failed run is ERROR with the last failure type and the end summary as description', () => {
    const span = rootSpan(endedRun({ status: 'failed', last_error_type: 'TimeoutError', end_summary: 'gave up' }), []);
    assert.deepEqual(span.status, { code: STATUS_CODE.ERROR, message: 'gave up' });
    assert.equal(span.attributes['error.type'], 'TimeoutError');
    assert.equal(rootSpan(endedRun({ status: 'failed' }), []).attributes['error.type'], 'run_failed');
  });

  it('an interrupted run is UNSET and ends at its last activity; without agent_name the name is plain', () => {
    const run = endedRun({ status: 'interrupted', end_reason: 'idle_timeout', ended_at: null, last_activity_at: T0 + 900, meta: null });
    const span = rootSpan(run, []);
    assert.equal(span.name, 'invoke_agent');
    assert.deepEqual(span.status, { code: STATUS_CODE.UNSET });
    assert.equal(span.end, T0 + 900);
    assert.equal(span.attributes['oprelay.run.end_reason'], 'idle_timeout');
  });

  it('a run under a caller span keeps the caller as parent', () => {
    const run = newRunRecord(RUN, 'shop', AGENT, T0, { trace_id: 'f'.repeat(32), span_id: 'a'.repeat(16), trace_flags: 0 });
    const span = rootSpan(run, []);
    assert.deepEqual([span.trace_id, span.parent_span_id, span.trace_flags], ['f'.repeat(32), 'a'.repeat(16), 1]);
  });

  it('record_run is one complete span', () => {
    const run = endedRun({ agent_name: 'nightly-sync', meta: null, summary: 'synced 12 rows', end_summary: null });
    const span = recordRunSpan(run, 'OPS-7');
    assert.equal(span.name, 'record_run nightly-sync');
    assert.deepEqual(span.attributes, {
      'openinference.span.kind': 'AGENT',
      'oprelay.project_key': 'shop',
      'oprelay.run.id': RUN,
      'oprelay.agent': 'nightly-sync',
      'oprelay.run.status': 'completed',
      'oprelay.ticket': 'OPS-7',
      'oprelay.run.summary': 'synced 12 rows',
      'input.value': 'synced 12 rows',
    });
    assert.deepEqual(span.status, { code: STATUS_CODE.OK });
  });
});

describe('child spans', () => {
  const run = endedRun({ status: 'running', ended_at: null });

  it('start_run is a child of the root from the start time to now, a CHAIN and no invoke_agent (only the root is)', () => {
    const span = startRunSpan(run, T0 + 20);
    assert.equal(span.name, 'start_run');
    assert.equal(span.parent_span_id, rootSpanIdOf(RUN));
    assert.deepEqual([span.start, span.end], [T0, T0 + 20]);
    assert.deepEqual(span.attributes, {
      'oprelay.run.id': RUN,
      'oprelay.project_key': 'shop',
      'openinference.span.kind': 'CHAIN',
      'gen_ai.agent.id': AGENT,
      'oprelay.run.summary': 'refund order 42',
    });
  });

  it('an LLM entry becomes `chat {model}` (CLIENT, LLM) with its own times, usage and cost', () => {
    const span = entrySpan(
      run,
      {
        model: 'gpt-4o',
        input_tokens: 900,
        output_tokens: 120,
        cost_usd: 0.004,
        started_at: '2026-01-15T09:00:01.000Z',
        duration_ms: 1500,
        status: 'ok',
        temperature: 0.2,
      },
      T0 + 10_000,
    );
    assert.equal(span.name, 'chat gpt-4o');
    assert.equal(span.kind, SPAN_KIND.CLIENT);
    assert.deepEqual([span.start, span.end], [T0 + 1_000, T0 + 2_500]);
    assert.deepEqual(span.status, { code: STATUS_CODE.OK });
    assert.deepEqual(span.attributes, {
      'oprelay.run.id': RUN,
      'oprelay.project_key': 'shop',
      'gen_ai.operation.name': 'chat',
      'openinference.span.kind': 'LLM',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.usage.input_tokens': 900,
      'gen_ai.usage.output_tokens': 120,
      'llm.token_count.total': 1020,
      'llm.cost.total': 0.004,
      'oprelay.trace.cost_usd': 0.004,
      'oprelay.trace.temperature': 0.2,
    });
    assert.equal('gen_ai.usage.cost' in span.attributes, false);
  });

  it('a failed tool entry becomes `execute_tool {tool}` with status ERROR and the error type', () => {
    const span = entrySpan(
      run,
      { tool: 'refund_api', status: 'error', error: 'HttpError: 502 from payments', ended_at: T0 + 3_000, duration_ms: 250 },
      T0 + 10_000,
    );
    assert.equal(span.name, 'execute_tool refund_api');
    assert.equal(span.kind, SPAN_KIND.INTERNAL);
    assert.deepEqual([span.start, span.end], [T0 + 2_750, T0 + 3_000]);
    assert.deepEqual(span.status, { code: STATUS_CODE.ERROR, message: 'HttpError: 502 from payments' });
    assert.equal(span.attributes['gen_ai.tool.name'], 'refund_api');
    assert.equal(span.attributes['openinference.span.kind'], 'TOOL');
    assert.equal(span.attributes['error.type'], 'HttpError');
    assert.equal(span.attributes['oprelay.trace.error'], 'HttpError: 502 from payments');
  });

  it('an entry without times ends now; a generic step is named by its name', () => {
    const span = entrySpan(run, { name: 'plan', duration_ms: 40 }, T0 + 10_000);
    assert.equal(span.name, 'plan');
    assert.equal(span.attributes['openinference.span.kind'], 'CHAIN');
    assert.deepEqual([span.start, span.end], [T0 + 9_960, T0 + 10_000]);
    assert.deepEqual(span.status, { code: STATUS_CODE.UNSET });
  });

  it('late_end_run carries the agent status and summary', () => {
    const span = lateEndSpan(run, 'completed', 'done late', T0 + 99);
    assert.equal(span.name, 'late_end_run');
    assert.equal(span.attributes['oprelay.late_end.status'], 'completed');
    assert.equal(span.attributes['oprelay.late_end.summary'], 'done late');
  });
});

describe('failures', () => {
  it('the error type is the leading Error/Exception word, else meta.error_type, else failure', () => {
    assert.equal(errorTypeOf('ValueError: bad input'), 'ValueError');
    assert.equal(errorTypeOf('  java.io.IOException: disk full'), 'java.io.IOException');
    assert.equal(errorTypeOf('it broke', { error_type: 'quota' }), 'quota');
    assert.equal(errorTypeOf(undefined), 'failure');
  });

  it('a failure event carries exception.* and the failure ids; after the root, a record_failure child carries it', () => {
    const event = failureEvent(
      {
        failure_id: 'f-1',
        error_type: 'TimeoutError',
        summary: 'payment API down',
        error: 'TimeoutError: upstream took 30s',
        task_id: 'c0ffee00-0000-4000-8000-000000000001',
        context: { step: 3 },
        meta: { retry: true },
      },
      T0 + 7,
    );
    assert.deepEqual(event, {
      name: 'exception',
      time: T0 + 7,
      attributes: {
        'exception.type': 'TimeoutError',
        'exception.message': 'payment API down',
        'oprelay.failure.id': 'f-1',
        'exception.stacktrace': 'TimeoutError: upstream took 30s',
        'oprelay.task.id': 'c0ffee00-0000-4000-8000-000000000001',
        'oprelay.failure.context': '{"step":3}',
        'oprelay.meta.retry': true,
      },
    });
    const span = recordFailureSpan(endedRun(), event);
    assert.equal(span.name, 'record_failure');
    assert.deepEqual([span.start, span.end], [T0 + 7, T0 + 7]);
    assert.deepEqual(span.status, { code: STATUS_CODE.ERROR, message: 'payment API down' });
    assert.equal(span.attributes['error.type'], 'TimeoutError');
    assert.deepEqual(span.events, [event]);
  });
});

describe('span limits', () => {
  it('cuts attributes past the cap and events past 128, and counts both on the span', () => {
    const attributes = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, i]));
    const events = Array.from({ length: 130 }, (_, i) => ({ name: `e${i}`, time: i, attributes: {} }));
    const span = capSpan({ ...rootSpan(endedRun(), []), attributes, events });
    assert.equal(Object.keys(span.attributes).length, MAX_ATTRIBUTES);
    assert.equal(span.events.length, 128);
    assert.equal(span.attributes['oprelay.dropped.events'], 2);
    assert.equal(span.attributes['oprelay.dropped.attributes'], 74);
    assert.equal(span.attributes.k125, 125);
    assert.equal('k126' in span.attributes, false);
  });
});
