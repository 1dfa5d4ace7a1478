import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { AGENT_ID, BridgeProcess, CLI, freePort } from './support/bridge-process.js';
import { OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.js';

const run = promisify(execFile);
const hex = (id: string) => id.replace(/-/g, '');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rootOf = (spans: ReceivedSpan[]) => spans.find((s) => s.name.startsWith('invoke_agent'));
const uniqueIds = (spans: ReceivedSpan[]) => new Set(spans.map((s) => s.spanId));

/** Polls until check() holds; fails naming what it waited for. Bounds are generous: this runs on a loaded 2-core machine. */
async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** `oprelay-bridge outbox status` on a bridge's data dir: the summary line, then one line per dead letter. */
async function outboxStatus(
  b: BridgeProcess,
): Promise<[{ outbox_depth: number; dead_letters: number }, ...{ span: string; reason: string }[]]> {
  const status = await run(process.execPath, [CLI, 'outbox', 'status'], { env: { ...process.env, BRIDGE_DATA_DIR: b.dataDir } });
  return status.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l)) as [{ outbox_depth: number; dead_letters: number }, ...{ span: string; reason: string }[]];
}

/** Starts a run, reports twice with trace entries; returns how many spans that makes before the end. */
async function activeRun(b: BridgeProcess, runId: string, project = 'deliv'): Promise<number> {
  assert.equal((await b.tool('core_start_run', { project_key: project, agent_id: AGENT_ID, run_id: runId })).status, 200);
  for (let i = 0; i < 2; i++) {
    const r = await b.tool('core_report_usage', {
      run_id: runId,
      token_usage: { input_tokens: 100, output_tokens: 10, cost_usd: 0.01, model: 'm' },
      traces: [{ model: 'm', input_tokens: 100 }, { tool: 'search' }],
    });
    assert.equal(r.status, 200);
  }
  // start_run + per report its two entry spans and the LLM span for what the entry leaves
  // uncovered (the 10 output tokens and the cost)
  return 1 + 2 * 3;
}

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

describe('delivery: nothing is lost', () => {
  it('state survives SIGKILL: restart, report, end → right totals and the original start time', async () => {
    const b = await BridgeProcess.start();
    cleanups.push(() => b.dispose());
    const id = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';
    await b.tool('core_start_run', { project_key: 'p', agent_id: AGENT_ID, run_id: id });
    await b.tool('core_report_usage', { run_id: id, token_usage: { input_tokens: 100, output_tokens: 20, cost_usd: 0.25, llm_calls: 1 } });
    const startedAt = (await b.get(`/v1/runs/${id}`)).body.started_at;
    await b.kill();
    await b.spawn();
    await b.tool('core_report_usage', { run_id: id, token_usage: { input_tokens: 50, output_tokens: 5, cost_usd: 0.5, llm_calls: 2 } });
    const end = await b.tool('core_end_run', { run_id: id, status: 'completed' });
    assert.equal(end.status, 200);
    assert.deepEqual(end.body.result.totals, { input_tokens: 150, output_tokens: 25, total_tokens: 175, cost_usd: 0.75, llm_calls: 3 });
    const view = (await b.get(`/v1/runs/${id}`)).body;
    assert.equal(view.started_at, startedAt);
    assert.equal(view.status, 'completed');
  });

  it('collector outage (503, then refused connections): both are retried, and after recovery every span arrives exactly once', async () => {
    const port = await freePort();
    let receiver = await new OtlpReceiver().start(port);
    const outage = receiver;
    cleanups.push(() => outage.stop());
    receiver.answer({ kind: 'status', code: 503 });
    // a lease far above any answer time: a slow answer is never given up on, so no retry can send a span twice
    const b = await BridgeProcess.start({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      BRIDGE_OUTBOX_LEASE: '30s',
      BRIDGE_LOG_LEVEL: 'debug',
    });
    cleanups.push(() => b.dispose());
    const id = 'b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e';
    const expected = (await activeRun(b, id)) + 1;
    await waitUntil('an export answered 503', () => receiver.requests.some((r) => r.answered === 503));
    await receiver.stop(); // now connections are refused
    await b.tool('core_end_run', { run_id: id, status: 'completed' });
    const logsBefore = b.logs.length;
    await waitUntil('a refused connection to be retried', () =>
      b.logs.slice(logsBefore).some((l) => l.includes('will retry') && l.includes('ECONNREFUSED')),
    );
    assert.equal(receiver.spans.length, 0, 'nothing was accepted during the outage');
    receiver = await new OtlpReceiver().start(port);
    cleanups.push(() => receiver.stop());
    const spans = await receiver.waitFor(
      (all) => uniqueIds(all.filter((s) => s.traceId === hex(id))).size >= expected,
      30_000,
      'all spans',
    );
    await waitUntil('the outbox to drain', async () => (await outboxStatus(b))[0].outbox_depth === 0);
    const trace = spans.filter((s) => s.traceId === hex(id));
    assert.equal(uniqueIds(trace).size, expected);
    assert.ok(rootOf(trace));
    // 503s and refused connections are unambiguous (nothing was accepted), so no span comes twice
    assert.equal(trace.length, expected, 'every span exactly once');
    // the whole outage is one warning and one line when delivery resumed, with no stack trace
    const lines = b.logs.map((l) => JSON.parse(l) as { level: string; msg: string; failed_attempts?: number });
    assert.equal(lines.filter((l) => l.level === 'warn' && l.msg.startsWith('export failing')).length, 1, b.logs.join('\n'));
    const resumed = lines.filter((l) => l.msg === 'export resumed');
    assert.equal(resumed.length, 1);
    assert.ok((resumed[0].failed_attempts ?? 0) >= 2, 'the 503s and the refused connections are counted');
    assert.ok(!b.logs.some((l) => l.includes('    at ')), 'no stack trace');
  });

  it('crash with spans in the outbox and a run open: restart delivers them and ends the run with its start time', async () => {
    const port = await freePort();
    const b = await BridgeProcess.start({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` }); // nothing listens yet
    cleanups.push(() => b.dispose());
    const id = 'c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f';
    const before = await activeRun(b, id);
    const startedAt = Date.parse((await b.get(`/v1/runs/${id}`)).body.started_at);
    await b.kill();
    const receiver = await new OtlpReceiver().start(port);
    cleanups.push(() => receiver.stop());
    await b.spawn();
    await b.tool('core_end_run', { run_id: id, status: 'completed' });
    const spans = await receiver.waitFor(
      (all) => uniqueIds(all.filter((s) => s.traceId === hex(id))).size >= before + 1,
      20_000,
      'all spans after restart',
    );
    const root = rootOf(spans.filter((s) => s.traceId === hex(id)))!;
    assert.equal(Math.round(root.startMs), startedAt);
    assert.equal(root.attributes['gen_ai.usage.input_tokens'], 200);
  });

  it('a 400 dead-letters the batch, the relay moves on, and `outbox replay` re-sends it', async () => {
    const receiver = await new OtlpReceiver().start();
    cleanups.push(() => receiver.stop());
    receiver.answer({ kind: 'status', code: 400 });
    const b = await BridgeProcess.start({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    cleanups.push(() => b.dispose());
    const rejected = await b.tool('record_run', { project_key: 'p', agent: 'a', summary: 'rejected by the collector' });
    await waitUntil('the batch to be dead-lettered', async () =>
      /oprelay_export_spans_total\{result="dead_letter"\} 1/.test((await b.get('/metrics')).text),
    );
    assert.ok(receiver.requests.some((r) => r.answered === 400));
    receiver.answer({ kind: 'ok' });
    const fine = await b.tool('record_run', { project_key: 'p', agent: 'a', summary: 'accepted' });
    await receiver.waitFor((all) => all.some((s) => s.traceId === fine.body.result.trace_id), 10_000, 'the next batch');
    assert.equal(receiver.byTrace(rejected.body.result.trace_id).length, 0);

    const env = { ...process.env, BRIDGE_DATA_DIR: b.dataDir };
    const lines = await outboxStatus(b);
    assert.equal(lines[0].dead_letters, 1);
    assert.equal(lines[1].span, 'record_run a');
    assert.match(lines[1].reason, /HTTP 400/);
    const replay = await run(process.execPath, [CLI, 'outbox', 'replay'], { env });
    assert.deepEqual(JSON.parse(replay.stdout), { replayed: 1 });
    await receiver.waitFor((all) => all.some((s) => s.traceId === rejected.body.result.trace_id), 10_000, 'the replayed span');
    const m = await b.get('/metrics');
    assert.match(m.text, /oprelay_export_spans_total\{result="dead_letter"\} 1/);
  });

  it('413 splits the batch until it fits; a partial success is logged, counted and kept as a dead letter', async () => {
    const receiver = await new OtlpReceiver().start();
    cleanups.push(() => receiver.stop());
    receiver.answer({ kind: 'max_spans', max: 2 });
    const b = await BridgeProcess.start({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, BRIDGE_EXPORT_INTERVAL_MS: '1000' });
    cleanups.push(() => b.dispose());
    const id = 'd1e2f3a4-b5c6-4d7e-8f9a-0b1c2d3e4f5a';
    await b.tool('core_start_run', { project_key: 'p', agent_id: AGENT_ID, run_id: id });
    await b.tool('core_report_usage', {
      run_id: id,
      token_usage: {},
      traces: Array.from({ length: 9 }, (_, i) => ({ name: `step-${i}` })),
    });
    await receiver.waitFor((all) => all.filter((s) => s.traceId === hex(id)).length >= 10, 15_000, '10 spans in small batches');
    assert.ok(
      receiver.requests.some((r) => r.answered === 413),
      'a batch was refused as too large',
    );
    assert.ok(receiver.requests.filter((r) => r.answered === 200).every((r) => r.spans <= 2));

    receiver.answer({ kind: 'partial', rejected: 1, message: 'span too old' });
    await b.tool('record_run', { project_key: 'p', agent: 'a', summary: 'partially rejected' });
    await waitUntil('the partial success to be logged', () => b.logs.some((l) => l.includes('collector rejected part of a batch')));
    assert.ok(b.logs.some((l) => l.includes('collector rejected part of a batch') && l.includes('span too old')));
    const m = await b.get('/metrics');
    assert.match(m.text, /oprelay_export_spans_total\{result="partial_rejected"\} 1/);
    // the collector does not say which span it dropped, so the whole batch is kept for `outbox replay`
    const [summary, ...dead] = await outboxStatus(b);
    assert.equal(summary.dead_letters, 1);
    assert.deepEqual(
      dead.map((d) => d.span),
      ['record_run a'],
    );
    assert.match(dead[0]!.reason, /^partial success: collector rejected 1 of 1 spans: span too old$/);
  });

  it('past BRIDGE_OUTBOX_MAX_ROWS the tools answer 503 backpressure with Retry-After', async () => {
    const port = await freePort(); // nobody listens: the outbox only grows
    const b = await BridgeProcess.start({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, BRIDGE_OUTBOX_MAX_ROWS: '5' });
    cleanups.push(() => b.dispose());
    for (let i = 0; i < 6; i++) await b.tool('record_run', { project_key: 'p', agent: 'a', summary: `r${i}` });
    let r = await b.tool('record_run', { project_key: 'p', agent: 'a', summary: 'more' });
    // the outbox depth the limit checks is refreshed by the relay, so the refusal comes within a relay pass
    const deadline = Date.now() + 30_000;
    while (r.status === 200 && Date.now() < deadline) {
      await sleep(50);
      r = await b.tool('record_run', { project_key: 'p', agent: 'a', summary: 'more' });
    }
    assert.equal(r.status, 503);
    assert.equal(r.body.error.code, 'backpressure');
    assert.match(r.body.error.message, /BRIDGE_OUTBOX_MAX_ROWS=5/);
    const raw = await fetch(`${b.url}/v1/tools/record_run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ project_key: 'p', agent: 'a', summary: 'x' }),
    });
    assert.ok(Number(raw.headers.get('retry-after')) >= 1);
    const m = await b.get('/metrics');
    assert.match(m.text, /oprelay_export_spans_total\{result="retry"\} [1-9]/, 'refused connections are retried');
  });

  it('SIGTERM: finishes, flushes the outbox and exits 0', async () => {
    const receiver = await new OtlpReceiver().start();
    cleanups.push(() => receiver.stop());
    // a long interval: only the shutdown flush can deliver the root span in time
    const b = await BridgeProcess.start({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, BRIDGE_EXPORT_INTERVAL_MS: '600000' });
    cleanups.push(() => b.dispose());
    const id = 'e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b';
    await b.tool('core_start_run', { project_key: 'p', agent_id: AGENT_ID, run_id: id });
    await b.tool('core_end_run', { run_id: id, status: 'completed' });
    assert.equal(await b.stop(), 0);
    assert.ok(rootOf(receiver.byTrace(hex(id))), 'root span flushed before exit');
    assert.ok(b.logs.some((l) => l.includes('"bridge stopped"') && l.includes('"outbox_left":0')));
  });

  for (const [protocol, env, contentType] of [
    ['http/protobuf, the default', {}, 'application/x-protobuf'],
    ['http/json (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL)', { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' }, 'application/json'],
  ] as const)
    it(`spans go out in ${protocol}`, async () => {
      const receiver = await new OtlpReceiver().start();
      cleanups.push(() => receiver.stop());
      const b = await BridgeProcess.start({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...env });
      cleanups.push(() => b.dispose());
      const id = 'f1a2b3c4-d5e6-4f7a-8b9c-0d1e2f3a4b5c';
      await b.tool('core_start_run', { project_key: 'proto', agent_id: AGENT_ID, run_id: id });
      await b.tool('core_end_run', { run_id: id, status: 'completed', token_usage: { input_tokens: 7 } });
      await receiver.waitFor((all) => !!rootOf(all.filter((s) => s.traceId === hex(id))), 10_000, `${protocol} root`);
      assert.ok(receiver.requests.length > 0);
      assert.deepEqual(new Set(receiver.requests.map((r) => r.contentType)), new Set([contentType]));
      const root = rootOf(receiver.byTrace(hex(id)))!;
      assert.equal(root.attributes['gen_ai.usage.input_tokens'], 7);
      assert.equal(root.resource['service.name'], 'proto');
    });
});
