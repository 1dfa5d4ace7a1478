import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AGENT_ID, BridgeProcess } from './support/bridge-process.js';
import { OtlpReceiver } from './support/otlp-receiver.js';

const hex = (id: string) => id.replace(/-/g, '');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitStatus(b: BridgeProcess, id: string, status: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await b.get(`/v1/runs/${id}`);
    if (r.body.status === status) return r.body;
    if (Date.now() > deadline) throw new Error(`run ${id} still ${r.body.status}`);
    await sleep(50);
  }
}

describe('the reaper (sqlite)', () => {
  let receiver: OtlpReceiver;
  let b: BridgeProcess;
  before(async () => {
    receiver = await new OtlpReceiver().start();
    b = await BridgeProcess.start({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      BRIDGE_RUN_IDLE_TIMEOUT: '1s',
      BRIDGE_RUN_MAX_DURATION: '3s',
    });
  });
  after(async () => {
    await b.dispose();
    await receiver.stop();
  });

  it('ends an idle run as interrupted at its last activity; a late end still counts', async () => {
    const id = '8a9b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d';
    await b.tool('core_start_run', { project_key: 'reap', agent_id: AGENT_ID, run_id: id });
    // the report is the run's last activity: the bridge stamps it between sending and answering
    const reportSent = Date.now();
    assert.equal(
      (await b.tool('core_report_usage', { run_id: id, token_usage: { input_tokens: 100, cost_usd: 1, model: 'm' } })).status,
      200,
    );
    const reportAnswered = Date.now();
    const run = await waitStatus(b, id, 'interrupted');
    assert.equal(run.end_reason, 'idle_timeout');
    const endedAt = Date.parse(run.ended_at);
    // the reap itself comes at least the 1 s idle timeout after the answer, so this tells the two apart
    assert.ok(
      endedAt >= reportSent && endedAt <= reportAnswered,
      `ended at ${endedAt}, the report was made in [${reportSent}, ${reportAnswered}]`,
    );

    await receiver.waitFor((all) => all.some((s) => s.traceId === hex(id) && s.name === 'invoke_agent'), 30_000, 'root');
    const root = receiver.byTrace(hex(id)).find((s) => s.name === 'invoke_agent')!;
    assert.equal(root.status.code, 0);
    assert.equal(root.attributes['oprelay.run.end_reason'], 'idle_timeout');
    assert.equal(root.attributes['oprelay.run.status'], 'interrupted');

    const late = await b.tool('core_end_run', {
      run_id: id,
      status: 'completed',
      summary: 'done after all',
      token_usage: { input_tokens: 150, cost_usd: 1.5, model: 'm' },
    });
    assert.equal(late.status, 200);
    assert.equal(late.body.result.already_ended, true);
    assert.equal(late.body.result.reaped, true);
    assert.equal(late.body.result.totals.input_tokens, 150);
    const spans = await receiver.waitFor(
      (all) => all.some((s) => s.traceId === hex(id) && s.name === 'late_end_run'),
      30_000,
      'late_end_run',
    );
    const span = spans.find((s) => s.traceId === hex(id) && s.name === 'late_end_run')!;
    assert.equal(span.parentSpanId, root.spanId);
    assert.equal(span.attributes['oprelay.late_end.status'], 'completed');
    assert.equal(span.attributes['oprelay.late_end.summary'], 'done after all');
    assert.equal(span.attributes['oprelay.late_end.input_tokens'], 50);
    assert.equal(span.attributes['gen_ai.usage.input_tokens'], undefined, 'tokens only on LLM spans');
    // the late 50 tokens and $0.5 on an LLM span of their own, after the report's 100 and $1
    const llm = receiver.byTrace(hex(id)).filter((s) => s.attributes['openinference.span.kind'] === 'LLM');
    assert.deepEqual(
      llm.map((s) => [
        s.attributes['oprelay.usage.uncovered_by'],
        s.attributes['gen_ai.usage.input_tokens'],
        s.attributes['llm.cost.total'],
      ]),
      [
        ['usage_report', 100, 1],
        ['run_totals', 50, 0.5],
      ],
    );
    const m = await b.get('/metrics');
    assert.match(m.text, /oprelay_usage_cost_total\{oprelay_project_key="reap",gen_ai_request_model="m"\} 1\.5\n/);
    assert.match(m.text, /oprelay_runs_ended_total\{oprelay_project_key="reap",status="interrupted",end_reason="idle_timeout"\} 1\n/);
  });

  it('ends a run older than the max duration even while it is active', async () => {
    const id = '9b0c1d2e-3f4a-4b5c-9d6e-7f8a9b0c1d2e';
    await b.tool('core_start_run', { project_key: 'reap', agent_id: AGENT_ID, run_id: id });
    const deadline = Date.now() + 30_000;
    let status = 'running';
    while (status === 'running' && Date.now() < deadline) {
      const r = await b.tool('core_report_usage', { run_id: id, token_usage: { input_tokens: 1 } });
      if (r.status === 409) break;
      await sleep(200);
      status = (await b.get(`/v1/runs/${id}`)).body.status;
    }
    const run = await waitStatus(b, id, 'interrupted');
    assert.equal(run.end_reason, 'max_duration');
    assert.ok(Date.parse(run.ended_at) - Date.parse(run.started_at) >= 3000);
  });
});
