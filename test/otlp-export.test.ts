import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AGENT_ID, BridgeProcess, TASK_ID } from './support/bridge-process.js';
import { OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.js';

const hex = (id: string) => id.replace(/-/g, '');
const SPAN_KIND_CLIENT = 3; // OTLP enum: INTERNAL=1, SERVER=2, CLIENT=3
const SPAN_KIND_INTERNAL = 1;

async function seedRun(b: BridgeProcess, runId: string, project = 'myproject'): Promise<void> {
  const t0 = Date.now();
  const s = await b.tool('core_start_run', {
    project_key: project,
    agent_id: AGENT_ID,
    run_id: runId,
    summary: 'Deploying rate limiter to staging',
    meta_json: { agent_name: 'deployer', env: { region: 'eu-west-1' }, tags: ['a', 'b'] },
  });
  assert.equal(s.status, 200);
  await b.tool('core_report_usage', {
    run_id: runId,
    token_usage: { input_tokens: 8400, output_tokens: 1200, cost_usd: 0.028, model: 'claude-opus-4', llm_calls: 3 },
    traces: [
      {
        model: 'claude-opus-4',
        input_tokens: 4000,
        output_tokens: 600,
        cost_usd: 0.014,
        started_at: new Date(t0).toISOString(),
        ended_at: t0 + 1500,
        request_id: 'req-1',
      },
      { tool: 'kubectl', duration_ms: 250, status: 'error', error: 'TimeoutError: apply timed out' },
      { name: 'plan', type: 'step' },
    ],
  });
  await b.tool('core_record_failure', {
    project_key: project,
    run_id: runId,
    agent_id: AGENT_ID,
    task_id: TASK_ID,
    summary: 'Database connection timeout during migration',
    error: 'Error: connect ETIMEDOUT 10.0.0.5:5432',
    context: { migration: '0042_add_index', attempt: 2 },
  });
  const e = await b.tool('core_end_run', {
    run_id: runId,
    status: 'completed',
    summary: 'Rate limiter deployed and verified in staging',
    token_usage: { input_tokens: 12400, output_tokens: 3200, cost_usd: 0.042, model: 'claude-opus-4', llm_calls: 7 },
  });
  assert.equal(e.status, 200);
}

const rootOf = (spans: ReceivedSpan[]) => spans.find((s) => s.name.startsWith('invoke_agent'));

describe('runs arrive as OpenTelemetry traces at a real OTLP receiver', () => {
  let receiver: OtlpReceiver;
  let b: BridgeProcess;
  before(async () => {
    receiver = await new OtlpReceiver().start();
    b = await BridgeProcess.start({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      BRIDGE_TRACE_URL: 'http://jaeger.local:16686/trace/{trace_id}',
    });
  });
  after(async () => {
    await b.dispose();
    await receiver.stop();
  });

  it('the seed run is one trace: root + children, attributes and status as specified', async () => {
    const runId = '0d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a';
    const t0 = Date.now();
    await seedRun(b, runId);
    // start_run, root, the three entries, and one LLM span each for the usage no entry covers (report, end)
    const spans = await receiver.waitFor((all) => all.filter((s) => s.traceId === hex(runId)).length >= 7, 10_000, 'the seed trace');
    const trace = spans.filter((s) => s.traceId === hex(runId));
    const root = rootOf(trace)!;
    assert.ok(root, 'root span arrived');
    assert.equal(root.name, 'invoke_agent deployer');
    assert.equal(root.kind, SPAN_KIND_INTERNAL);
    assert.equal(root.parentSpanId, '');
    assert.equal(root.resource['service.name'], 'myproject');
    assert.equal(root.resource['service.namespace'], 'oprelay');
    assert.equal(root.resource['openinference.project.name'], 'myproject', 'one Phoenix project per project_key');
    assert.equal(root.scope, 'oprelay-bridge');
    assert.equal(root.resourceSchemaUrl, 'https://opentelemetry.io/schemas/gen-ai-dev/1.42.0-dev');
    assert.equal(root.scopeSchemaUrl, 'https://opentelemetry.io/schemas/gen-ai-dev/1.42.0-dev');
    assert.equal(root.status.code, 1, 'completed → OK');
    const a = root.attributes;
    assert.equal(a['gen_ai.operation.name'], 'invoke_agent');
    assert.equal(a['gen_ai.agent.name'], 'deployer');
    assert.equal(a['gen_ai.agent.id'], AGENT_ID);
    assert.equal(a['gen_ai.conversation.id'], undefined, 'no session given: no conversation');
    assert.equal(a['openinference.span.kind'], 'AGENT');
    assert.equal(a['input.value'], 'Deploying rate limiter to staging');
    assert.equal(a['output.value'], 'Rate limiter deployed and verified in staging');
    assert.deepEqual(JSON.parse(String(a['metadata'])), { agent_name: 'deployer', env: { region: 'eu-west-1' }, tags: ['a', 'b'] });
    assert.equal(a['oprelay.run.id'], runId);
    assert.equal(a['oprelay.project_key'], 'myproject');
    assert.equal(a['oprelay.run.status'], 'completed');
    assert.equal(a['oprelay.run.end_reason'], 'agent');
    assert.equal(a['oprelay.run.summary'], 'Deploying rate limiter to staging');
    assert.equal(a['oprelay.run.end_summary'], 'Rate limiter deployed and verified in staging');
    assert.equal(a['gen_ai.usage.input_tokens'], 12400);
    assert.equal(a['gen_ai.usage.output_tokens'], 3200);
    assert.equal(a['oprelay.usage.total_tokens'], 15600);
    assert.equal(a['oprelay.usage.cost_usd'], 0.042);
    assert.equal(a['llm.cost.total'], 0.042);
    assert.equal(a['gen_ai.usage.cost'], undefined, 'no cost name outside the conventions');
    assert.equal(a['llm.token_count.total'], undefined, 'the root adds no OpenInference token count to the LLM spans');
    assert.equal(a['oprelay.usage.llm_calls'], 7);
    assert.equal(a['gen_ai.request.model'], 'claude-opus-4');
    assert.deepEqual(a['oprelay.usage.models'], ['claude-opus-4']);
    assert.equal(a['oprelay.meta.agent_name'], 'deployer');
    assert.equal(a['oprelay.meta.env.region'], 'eu-west-1');
    assert.equal(a['oprelay.meta.tags'], '["a","b"]');
    assert.equal(a['gen_ai.system'], undefined, 'no deprecated keys');
    assert.ok(root.startMs >= t0 - 5 && root.endMs >= root.startMs && root.endMs <= Date.now() + 5, 'times plausible');

    const usageEvents = root.events.filter((e) => e.name === 'oprelay.usage.report');
    assert.equal(usageEvents.length, 1);
    assert.equal(usageEvents[0].attributes['gen_ai.usage.input_tokens'], 8400);
    assert.equal(usageEvents[0].attributes['oprelay.usage.cost_usd'], 0.028);
    const exc = root.events.find((e) => e.name === 'exception')!;
    assert.equal(
      exc.attributes['exception.type'],
      'Error',
      'the leading exception name of "Error: connect ETIMEDOUT…" (docs/tool-input.md)',
    );
    assert.equal(exc.attributes['exception.message'], 'Database connection timeout during migration');
    assert.equal(exc.attributes['exception.stacktrace'], 'Error: connect ETIMEDOUT 10.0.0.5:5432');
    assert.equal(exc.attributes['oprelay.task.id'], TASK_ID);
    assert.deepEqual(JSON.parse(String(exc.attributes['oprelay.failure.context'])), { migration: '0042_add_index', attempt: 2 });

    for (const child of trace.filter((s) => s !== root)) {
      assert.equal(child.parentSpanId, root.spanId, `${child.name} hangs under the root`);
      assert.equal(child.resource['service.name'], 'myproject');
    }
    const start = trace.find((s) => s.name === 'start_run')!;
    assert.ok(start, 'start_run child');
    assert.equal(start.attributes['openinference.span.kind'], 'CHAIN');
    assert.equal(start.attributes['gen_ai.operation.name'], undefined, 'only the root is invoke_agent');
    // every token and dollar the run counts is on exactly one LLM span: the entry's, and one per uncovered part
    const llm = trace.filter((s) => s.attributes['openinference.span.kind'] === 'LLM');
    const sum = (key: string) => llm.reduce((n, s) => n + Number(s.attributes[key] ?? 0), 0);
    assert.equal(llm.length, 3);
    assert.deepEqual([sum('gen_ai.usage.input_tokens'), sum('gen_ai.usage.output_tokens')], [12400, 3200]);
    assert.equal(Math.round(sum('llm.cost.total') * 1e9) / 1e9, 0.042);
    const uncovered = llm.filter((s) => s.attributes['oprelay.usage.uncovered_by'] !== undefined);
    assert.deepEqual(
      uncovered.map((s) => [s.name, s.attributes['oprelay.usage.uncovered_by'], s.attributes['gen_ai.usage.input_tokens']]).sort(),
      [
        ['chat claude-opus-4', 'run_totals', 4000],
        ['chat claude-opus-4', 'usage_report', 4400],
      ],
    );
    for (const s of trace.filter((x) => !llm.includes(x) && x !== root))
      assert.equal(s.attributes['gen_ai.usage.input_tokens'], undefined, `${s.name} carries no tokens`);
    const chat = trace.find((s) => s.attributes['oprelay.trace.request_id'] === 'req-1')!;
    assert.equal(chat.name, 'chat claude-opus-4');
    assert.equal(chat.kind, SPAN_KIND_CLIENT);
    assert.equal(chat.attributes['gen_ai.operation.name'], 'chat');
    assert.equal(chat.attributes['gen_ai.request.model'], 'claude-opus-4');
    assert.equal(chat.attributes['gen_ai.usage.input_tokens'], 4000);
    assert.equal(chat.attributes['oprelay.trace.cost_usd'], 0.014);
    assert.equal(chat.attributes['gen_ai.usage.cost'], undefined, 'no cost name outside the conventions');
    assert.equal(chat.attributes['llm.cost.total'], 0.014, 'the entry its own cost');
    assert.equal(chat.attributes['openinference.span.kind'], 'LLM');
    assert.equal(chat.attributes['oprelay.trace.request_id'], 'req-1');
    assert.equal(chat.endMs - chat.startMs, 1500, 'the entry’s own times');
    const tool = trace.find((s) => s.name === 'execute_tool kubectl')!;
    assert.equal(tool.kind, SPAN_KIND_INTERNAL);
    assert.equal(tool.attributes['gen_ai.tool.name'], 'kubectl');
    assert.equal(tool.attributes['openinference.span.kind'], 'TOOL');
    assert.equal(tool.status.code, 2, 'status error → ERROR');
    assert.equal(tool.attributes['error.type'], 'TimeoutError');
    // an entry without times ends at the report; one longer than the run so far is cut at the run's start
    if (tool.attributes['oprelay.trace.duration_clamped'] === true) {
      assert.equal(tool.startMs, root.startMs);
      assert.equal(tool.attributes['oprelay.trace.duration_ms'], 250);
    } else assert.equal(Math.round(tool.endMs - tool.startMs), 250);
    assert.ok(tool.startMs >= root.startMs, 'never before its run');
    assert.ok(
      trace.find((s) => s.name === 'plan'),
      'generic step named by name',
    );
  });

  it('a failed run is ERROR with error.type of its last failure; interrupted is UNSET', async () => {
    const failed = '2b3c4d5e-6f70-4a1b-8c2d-3e4f5a6b7c8d';
    await b.tool('core_start_run', { project_key: 'p2', agent_id: AGENT_ID, run_id: failed });
    await b.tool('core_record_failure', {
      project_key: 'p2',
      run_id: failed,
      agent_id: AGENT_ID,
      summary: 'boom',
      error: 'ValueError: bad input\n  at x',
    });
    await b.tool('core_end_run', { run_id: failed, status: 'failed', summary: 'gave up' });
    const interrupted = '3c4d5e6f-7081-4b2c-9d3e-4f5a6b7c8d9e';
    await b.tool('core_start_run', { project_key: 'p2', agent_id: AGENT_ID, run_id: interrupted });
    await b.tool('core_end_run', { run_id: interrupted, status: 'interrupted' });
    await receiver.waitFor(
      (all) => [failed, interrupted].every((id) => rootOf(all.filter((s) => s.traceId === hex(id)))),
      10_000,
      'two roots',
    );
    const f = rootOf(receiver.byTrace(hex(failed)))!;
    assert.equal(f.status.code, 2);
    assert.equal(f.status.message, 'gave up');
    assert.equal(f.attributes['error.type'], 'ValueError');
    const i = rootOf(receiver.byTrace(hex(interrupted)))!;
    assert.equal(i.status.code, 0);
    assert.equal(i.attributes['oprelay.run.status'], 'interrupted');
  });

  it('a failure after the root was exported becomes a record_failure child span', async () => {
    const id = '4d5e6f70-8192-4c3d-8e4f-5a6b7c8d9e0f';
    await b.tool('core_start_run', { project_key: 'p2', agent_id: AGENT_ID, run_id: id });
    await b.tool('core_end_run', { run_id: id, status: 'completed' });
    await b.tool('core_record_failure', {
      project_key: 'p2',
      run_id: id,
      agent_id: AGENT_ID,
      summary: 'late failure',
      error: 'KeyError: x',
    });
    const spans = await receiver.waitFor(
      (all) => all.some((s) => s.traceId === hex(id) && s.name === 'record_failure'),
      10_000,
      'record_failure',
    );
    const rf = spans.find((s) => s.traceId === hex(id) && s.name === 'record_failure')!;
    const root = rootOf(receiver.byTrace(hex(id)))!;
    assert.equal(rf.parentSpanId, root.spanId);
    assert.equal(rf.events[0].name, 'exception');
    assert.equal(rf.events[0].attributes['exception.type'], 'KeyError');
  });

  it('record_run is a one-span trace', async () => {
    const r = await b.tool('record_run', {
      project_key: 'myproject',
      agent: 'claude-opus',
      ticket: 'OPR-429',
      summary: 'Implemented project isolation.',
    });
    const spans = await receiver.waitFor((all) => all.some((s) => s.traceId === r.body.result.trace_id), 10_000, 'record_run span');
    const trace = spans.filter((s) => s.traceId === r.body.result.trace_id);
    assert.equal(trace.length, 1);
    assert.equal(trace[0].name, 'record_run claude-opus');
    assert.equal(trace[0].attributes['oprelay.agent'], 'claude-opus');
    assert.equal(trace[0].attributes['oprelay.ticket'], 'OPR-429');
    assert.equal(trace[0].attributes['oprelay.run.summary'], 'Implemented project isolation.');
  });

  it('joins an incoming W3C traceparent and returns trace_url', async () => {
    const callerTrace = 'abcdef0123456789abcdef0123456789';
    const callerSpan = '0123456789abcdef';
    const id = '5e6f7081-92a3-4d4e-9f50-6a7b8c9d0e1f';
    const s = await b.tool(
      'core_start_run',
      { project_key: 'p3', agent_id: AGENT_ID, run_id: id },
      { traceparent: `00-${callerTrace}-${callerSpan}-01` },
    );
    assert.equal(s.body.result.trace_id, callerTrace);
    assert.equal(s.body.result.trace_url, `http://jaeger.local:16686/trace/${callerTrace}`);
    await b.tool('core_end_run', { run_id: id, status: 'completed' });
    await receiver.waitFor((all) => !!rootOf(all.filter((x) => x.traceId === callerTrace)), 10_000, 'root in caller trace');
    const root = rootOf(receiver.byTrace(callerTrace))!;
    assert.equal(root.parentSpanId, callerSpan);
    assert.equal(s.body.result.traceparent, `00-${callerTrace}-${root.spanId}-01`);
  });

  it('caps events at 128 and counts what was dropped', async () => {
    const id = '6f708192-a3b4-4e5f-8061-7b8c9d0e1f20';
    await b.tool('core_start_run', { project_key: 'p4', agent_id: AGENT_ID, run_id: id });
    for (let i = 0; i < 105; i++) await b.tool('core_report_usage', { run_id: id, token_usage: { input_tokens: 1 } });
    for (let i = 0; i < 30; i++)
      await b.tool('core_record_failure', { project_key: 'p4', run_id: id, agent_id: AGENT_ID, summary: `f${i}` });
    await b.tool('core_end_run', { run_id: id, status: 'completed' });
    await receiver.waitFor((all) => !!rootOf(all.filter((x) => x.traceId === hex(id))), 10_000, 'root');
    const root = rootOf(receiver.byTrace(hex(id)))!;
    assert.equal(root.events.length, 128);
    assert.equal(root.events.filter((e) => e.name === 'oprelay.usage.report').length, 100);
    assert.equal(root.attributes['oprelay.usage.reports_dropped'], 5);
    assert.equal(root.attributes['oprelay.dropped.events'], 2);
    assert.equal(root.attributes['gen_ai.usage.input_tokens'], 105, 'totals stay exact');
  });

  it('/metrics shows run counters, token and cost totals by project and model, outbox depth', async () => {
    const m = await b.get('/metrics');
    assert.equal(m.status, 200);
    const value = (re: RegExp) => {
      const line = m.text.split('\n').find((l) => re.test(l));
      return line ? Number(line.split(' ').pop()) : undefined;
    };
    assert.equal(value(/^oprelay_runs_started_total\{oprelay_project_key="myproject"\}/), 2);
    assert.equal(value(/^oprelay_runs_ended_total\{oprelay_project_key="myproject",status="completed",end_reason="agent"\}/), 2);
    assert.equal(
      value(
        /^oprelay_usage_tokens_total\{oprelay_project_key="myproject",gen_ai_request_model="claude-opus-4",gen_ai_token_type="input"\}/,
      ),
      12400,
    );
    assert.equal(
      value(
        /^oprelay_usage_tokens_total\{oprelay_project_key="myproject",gen_ai_request_model="claude-opus-4",gen_ai_token_type="output"\}/,
      ),
      3200,
    );
    assert.equal(value(/^oprelay_usage_cost_total\{oprelay_project_key="myproject",gen_ai_request_model="claude-opus-4"\}/), 0.042);
    assert.equal(value(/^oprelay_usage_llm_calls_total\{oprelay_project_key="myproject",gen_ai_request_model="claude-opus-4"\}/), 7);
    assert.equal(value(/^oprelay_failures_total\{oprelay_project_key="p2",error_type="ValueError"\}/), 1);
    assert.equal(value(/^oprelay_runs_active\{oprelay_project_key="myproject"\}/), 0);
    assert.ok(value(/^oprelay_export_spans_total\{result="success"\}/)! >= 10);
    assert.notEqual(value(/^oprelay_outbox_depth /), undefined);
  });
});
