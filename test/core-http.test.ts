import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AGENT_ID, BridgeProcess, TASK_ID } from './support/bridge-process.js';

const RUN_ID = '9f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

describe('the five tools over HTTP (seed examples)', () => {
  let b: BridgeProcess;
  before(async () => {
    b = await BridgeProcess.start();
  });
  after(async () => b.dispose());

  it('runs the seed flow with correct totals', async () => {
    const start = await b.tool('core_start_run', {
      project_key: 'myproject',
      agent_id: AGENT_ID,
      run_id: RUN_ID.toUpperCase(),
      summary: 'Deploying rate limiter to staging',
    });
    assert.equal(start.status, 200);
    assert.equal(start.body.result.run_id, RUN_ID, 'UUIDs are stored lowercase');
    assert.equal(start.body.result.trace_id, RUN_ID.replace(/-/g, ''));
    assert.match(start.body.result.traceparent, new RegExp(`^00-${RUN_ID.replace(/-/g, '')}-[0-9a-f]{16}-01$`));

    const usage = await b.tool('core_report_usage', {
      run_id: RUN_ID,
      token_usage: { input_tokens: 8400, output_tokens: 1200, cost_usd: 0.028, model: 'claude-opus-4', llm_calls: 3 },
    });
    assert.equal(usage.status, 200);
    assert.deepEqual(usage.body.result.totals, {
      input_tokens: 8400,
      output_tokens: 1200,
      total_tokens: 9600,
      cost_usd: 0.028,
      llm_calls: 3,
    });

    const failure = await b.tool('core_record_failure', {
      project_key: 'myproject',
      run_id: RUN_ID,
      agent_id: AGENT_ID,
      task_id: TASK_ID,
      summary: 'Database connection timeout during migration',
      error: 'Error: connect ETIMEDOUT 10.0.0.5:5432',
      context: { migration: '0042_add_index', attempt: 2 },
    });
    assert.equal(failure.status, 200);
    assert.match(failure.body.result.failure_id, /^[0-9a-f-]{36}$/);
    assert.equal(failure.body.result.trace_id, RUN_ID.replace(/-/g, ''));

    const end = await b.tool('core_end_run', {
      run_id: RUN_ID,
      status: 'completed',
      summary: 'Rate limiter deployed and verified in staging',
      token_usage: { input_tokens: 12400, output_tokens: 3200, cost_usd: 0.042, model: 'claude-opus-4', llm_calls: 7 },
    });
    assert.equal(end.status, 200);
    assert.equal(end.body.result.status, 'completed');
    assert.deepEqual(end.body.result.totals, {
      input_tokens: 12400,
      output_tokens: 3200,
      total_tokens: 15600,
      cost_usd: 0.042,
      llm_calls: 7,
    });

    const run = await b.get(`/v1/runs/${RUN_ID}`);
    assert.equal(run.status, 200);
    assert.equal(run.body.status, 'completed');
    assert.equal(run.body.project_key, 'myproject');
    assert.equal(run.body.agent_id, AGENT_ID);
    assert.equal(run.body.failures, 1);
    assert.deepEqual(run.body.models, ['claude-opus-4']);
    assert.ok(Date.parse(run.body.ended_at) >= Date.parse(run.body.started_at));

    const v1 = await b.tool('record_run', {
      project_key: 'myproject',
      agent: 'claude-opus',
      ticket: 'OPR-429',
      summary: 'Implemented project isolation. All MCP tools now enforce project_key access.',
    });
    assert.equal(v1.status, 200);
    const rec = await b.get(`/v1/runs/${v1.body.result.run_id}`);
    assert.equal(rec.body.status, 'completed');
    assert.equal(rec.body.trace_id, v1.body.result.trace_id);
  });

  it('generates a v4 run_id when omitted', async () => {
    const r = await b.tool('core_start_run', { project_key: 'p', agent_id: AGENT_ID });
    assert.match(r.body.result.run_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('start is idempotent per project and hides other projects (404)', async () => {
    const id = '1a2b3c4d-0000-4000-8000-00000000a001';
    const a = await b.tool('core_start_run', { project_key: 'alpha', agent_id: AGENT_ID, run_id: id, summary: 'first' });
    const again = await b.tool('core_start_run', { project_key: 'alpha', agent_id: AGENT_ID, run_id: id, summary: 'second' });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body.result, a.body.result);
    const other = await b.tool('core_start_run', { project_key: 'beta', agent_id: AGENT_ID, run_id: id });
    assert.equal(other.status, 404);
    assert.equal(other.body.error.code, 'run_not_found');
  });

  it('report_usage adds up, dedupes idempotency_key, and total_tokens defaults to input+output', async () => {
    const id = '1a2b3c4d-0000-4000-8000-00000000a002';
    await b.tool('core_start_run', { project_key: 'alpha', agent_id: AGENT_ID, run_id: id });
    await b.tool('core_report_usage', {
      run_id: id,
      token_usage: { input_tokens: 10, output_tokens: 5, cost_usd: 0.1, llm_calls: 1, model: 'm1' },
    });
    const keyed = {
      run_id: id,
      idempotency_key: 'batch-7',
      token_usage: { input_tokens: 1, output_tokens: 2, total_tokens: 100, cost_usd: 0.2, model: 'm2' },
    };
    await b.tool('core_report_usage', keyed);
    const dup = await b.tool('core_report_usage', keyed);
    assert.equal(dup.status, 200);
    assert.equal(dup.body.result.duplicate, true);
    const run = await b.get(`/v1/runs/${id}`);
    assert.deepEqual(run.body.totals, { input_tokens: 11, output_tokens: 7, total_tokens: 115, cost_usd: 0.3, llm_calls: 1 });
    assert.deepEqual(run.body.models, ['m1', 'm2']);
  });

  it('Idempotency-Key header returns the first answer with duplicate: true', async () => {
    const headers = { 'Idempotency-Key': 'start-once-1' };
    const first = await b.tool('core_start_run', { project_key: 'alpha', agent_id: AGENT_ID }, headers);
    const second = await b.tool('core_start_run', { project_key: 'alpha', agent_id: AGENT_ID }, headers);
    assert.equal(second.body.result.run_id, first.body.result.run_id);
    assert.equal(second.body.result.duplicate, true);
    const tooLong = await b.tool('core_start_run', { project_key: 'alpha', agent_id: AGENT_ID }, { 'Idempotency-Key': 'k'.repeat(129) });
    assert.equal(tooLong.status, 400);
    assert.match(tooLong.body.error.message, /Idempotency-Key.*128/);
  });

  it('end_run: final totals win when larger, mismatch when lower; repeat and conflicting status', async () => {
    const id = '1a2b3c4d-0000-4000-8000-00000000a003';
    await b.tool('core_start_run', { project_key: 'alpha', agent_id: AGENT_ID, run_id: id });
    await b.tool('core_report_usage', { run_id: id, token_usage: { input_tokens: 500, output_tokens: 50, cost_usd: 0.5, llm_calls: 2 } });
    const end = await b.tool('core_end_run', {
      run_id: id,
      status: 'failed',
      token_usage: { input_tokens: 400, output_tokens: 80, cost_usd: 0.4, llm_calls: 3 },
    });
    assert.equal(end.status, 200);
    assert.deepEqual(end.body.result.totals, { input_tokens: 500, output_tokens: 80, total_tokens: 550, cost_usd: 0.5, llm_calls: 3 });
    const same = await b.tool('core_end_run', { run_id: id, status: 'failed' });
    assert.equal(same.status, 200);
    assert.equal(same.body.result.already_ended, true);
    const conflict = await b.tool('core_end_run', { run_id: id, status: 'completed' });
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.error.code, 'run_already_ended');
    const late = await b.tool('core_report_usage', { run_id: id, token_usage: { input_tokens: 1 } });
    assert.equal(late.status, 409);
    assert.equal(late.body.error.code, 'run_ended');
    const run = await b.get(`/v1/runs/${id}`);
    assert.equal(run.body.totals.input_tokens, 500, 'the 409 changed nothing');
  });

  it('a failure on an unknown run is kept, and a later start joins it', async () => {
    const id = '1a2b3c4d-0000-4000-8000-00000000a004';
    const f = await b.tool('core_record_failure', {
      project_key: 'alpha',
      run_id: id,
      agent_id: AGENT_ID,
      summary: 'crashed before start',
    });
    assert.equal(f.status, 200);
    let run = await b.get(`/v1/runs/${id}`);
    assert.equal(run.body.failures, 1);
    const s = await b.tool('core_start_run', { project_key: 'alpha', agent_id: AGENT_ID, run_id: id });
    assert.equal(s.status, 200);
    assert.equal(s.body.result.trace_id, f.body.result.trace_id);
    run = await b.get(`/v1/runs/${id}`);
    assert.equal(run.body.status, 'running');
    assert.equal(run.body.failures, 1);
  });

  it('unknown runs are 404 and unknown tools are 404 unknown_tool', async () => {
    const r = await b.tool('core_report_usage', { run_id: '1a2b3c4d-0000-4000-8000-0000000000ff', token_usage: {} });
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, 'run_not_found');
    const t = await b.tool('core_delete_run', {});
    assert.equal(t.status, 404);
    assert.equal(t.body.error.code, 'unknown_tool');
    const g = await b.get('/v1/runs/1a2b3c4d-0000-4000-8000-0000000000ff');
    assert.equal(g.status, 404);
  });

  it('health and readiness', async () => {
    assert.equal((await b.get('/healthz')).status, 200);
    const ready = await b.get('/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.store, 'sqlite');
  });
});
