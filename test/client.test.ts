import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createClient, OprelayError, type OprelayClient } from '../src/client.js';
import { AGENT_ID, BridgeProcess, freePort, TASK_ID } from './support/bridge-process.js';

/** What the proxy does with one request: forward it, answer by itself, or forward it and lose the answer. */
type Step = { kind: 'forward' } | { kind: 'reply' | 'forward-then-reply'; status: number; retryAfter?: string; body: unknown };

/** A tiny HTTP proxy on 127.0.0.1 in front of the bridge, scripted per request. */
class ScriptedProxy {
  readonly seen: { method: string; path: string; idempotencyKey?: string; arrivedAtMs: number }[] = [];
  /** when each scripted answer (reply or forward-then-reply) went out */
  readonly answeredAtMs: number[] = [];
  script: Step[] = [];
  private server!: Server;
  url = '';

  constructor(private readonly target: string) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(
        ({ status, headers, body }) => {
          res.writeHead(status, headers).end(body);
          if (headers['x-scripted']) this.answeredAtMs.push(Date.now());
        },
        (err: unknown) => res.writeHead(502).end(String(err)),
      );
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    this.seen.push({
      method: req.method ?? '',
      path: req.url ?? '',
      idempotencyKey: req.headers['idempotency-key'] as string | undefined,
      arrivedAtMs: Date.now(),
    });
    const step = this.script.shift() ?? { kind: 'forward' };
    if (step.kind !== 'reply') {
      const headers: Record<string, string> = {};
      for (const h of ['content-type', 'authorization', 'idempotency-key']) if (req.headers[h]) headers[h] = String(req.headers[h]);
      const r = await fetch(`${this.target}${req.url}`, {
        method: req.method,
        headers,
        body: chunks.length ? Buffer.concat(chunks) : undefined,
      });
      const body = await r.text();
      if (step.kind === 'forward')
        return { status: r.status, headers: { 'content-type': r.headers.get('content-type') ?? 'text/plain' }, body };
    }
    return {
      status: step.status,
      headers: {
        'content-type': 'application/json',
        'x-scripted': '1',
        ...(step.retryAfter !== undefined ? { 'retry-after': step.retryAfter } : {}),
      },
      body: JSON.stringify(step.body),
    };
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const backpressure = { error: { code: 'backpressure', message: 'the outbox is full' } };

describe('typed client', () => {
  let bridge: BridgeProcess;
  let proxy: ScriptedProxy;
  let client: OprelayClient;
  let viaProxy: OprelayClient;

  before(async () => {
    bridge = await BridgeProcess.start();
    proxy = await new ScriptedProxy(bridge.url).start();
    client = createClient({ url: bridge.url });
    viaProxy = createClient({ url: proxy.url, retryBaseMs: 10 });
  });
  beforeEach(() => {
    proxy.seen.length = 0;
    proxy.answeredAtMs.length = 0;
    proxy.script = [];
  });
  after(async () => {
    await proxy?.stop();
    await bridge?.dispose();
  });

  it('runs the seed flow with correct totals', async () => {
    const start = await client.call('core_start_run', {
      project_key: 'client-flow',
      agent_id: AGENT_ID,
      summary: 'Deploying rate limiter to staging',
    });
    assert.match(start.run_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(start.trace_id, start.run_id.replaceAll('-', ''));
    const { run_id } = start;

    const first = await client.call('core_report_usage', {
      run_id,
      token_usage: { input_tokens: 8400, output_tokens: 1200, cost_usd: 0.028, model: 'claude-opus-4', llm_calls: 3 },
      traces: [
        {
          type: 'llm',
          model: 'claude-opus-4',
          input_tokens: 8400,
          output_tokens: 1200,
          started_at: '2025-01-01T00:00:00Z',
          ended_at: 1735689602000,
        },
        { type: 'tool', tool: 'kubectl_apply', status: 'ok' },
      ],
    });
    assert.deepEqual(first.totals, { input_tokens: 8400, output_tokens: 1200, total_tokens: 9600, cost_usd: 0.028, llm_calls: 3 });
    const second = await client.call('core_report_usage', { run_id, token_usage: { input_tokens: 600, output_tokens: 300, llm_calls: 1 } });
    assert.deepEqual(second.totals, { input_tokens: 9000, output_tokens: 1500, total_tokens: 10500, cost_usd: 0.028, llm_calls: 4 });

    const failure = await client.call('core_record_failure', {
      project_key: 'client-flow',
      run_id,
      agent_id: AGENT_ID,
      task_id: TASK_ID,
      summary: 'Database connection timeout during migration',
      error: 'Error: connect ETIMEDOUT 10.0.0.5:5432',
    });
    assert.equal(failure.run_id, run_id);
    assert.equal(failure.trace_id, start.trace_id);

    const end = await client.call('core_end_run', {
      run_id,
      status: 'completed',
      summary: 'Rate limiter deployed and verified in staging',
      token_usage: { input_tokens: 12400, output_tokens: 3200, cost_usd: 0.042, model: 'claude-opus-4', llm_calls: 7 },
    });
    const final = { input_tokens: 12400, output_tokens: 3200, total_tokens: 15600, cost_usd: 0.042, llm_calls: 7 };
    assert.equal(end.status, 'completed');
    assert.deepEqual(end.totals, final);

    const v1 = await client.call('record_run', {
      project_key: 'client-flow',
      agent: 'claude-opus',
      ticket: 'OPR-429',
      summary: 'Implemented project isolation.',
    });
    assert.equal(v1.trace_id, v1.run_id.replaceAll('-', ''));

    const run = await client.getRun(run_id);
    assert.equal(run.status, 'completed');
    assert.equal(run.project_key, 'client-flow');
    assert.equal(run.failures, 1);
    assert.deepEqual(run.models, ['claude-opus-4']);
    assert.deepEqual(run.totals, final);
  });

  it('throws a typed error with details for bad input, without retrying', async () => {
    const err = await viaProxy
      .call('core_start_run', { project_key: 'client-bad', agent_id: 'not-a-uuid', summary: 'x'.repeat(2001) })
      .then(
        () => assert.fail('expected a rejection'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof OprelayError);
    assert.equal(err.code, 'invalid_argument');
    assert.equal(err.status, 400);
    assert.deepEqual(
      err.details?.map((d) => [d.path, d.limit]),
      [
        ['agent_id', undefined],
        ['summary', 2000],
      ],
    );
    assert.match(err.message, /summary: must be at most 2000 characters/);
    assert.equal(proxy.seen.length, 1);
  });

  it('answers getRun for an unknown run with run_not_found', async () => {
    const id = randomUUID();
    await assert.rejects(client.getRun(id), (e: unknown) => e instanceof OprelayError && e.code === 'run_not_found' && e.status === 404);
  });

  it('retries a 503 after Retry-After with the same Idempotency-Key and creates one run', async () => {
    proxy.script = [{ kind: 'reply', status: 503, retryAfter: '1', body: backpressure }];
    const result = await viaProxy.call('core_start_run', { project_key: 'client-retry', agent_id: AGENT_ID });
    assert.equal(proxy.seen.length, 2);
    const [a, b] = proxy.seen;
    // from the 503 leaving the proxy to the retry arriving: the client slept the Retry-After second, not
    // its 10 ms backoff (a lower bound, which load only lengthens; a little under 1000 for timer rounding)
    const waited = b.arrivedAtMs - proxy.answeredAtMs[0]!;
    assert.ok(waited >= 980, `waited ${waited} ms for Retry-After: 1`);
    assert.ok(a.idempotencyKey);
    assert.equal(a.idempotencyKey, b.idempotencyKey);
    const runs = (await bridge.get('/v1/runs?project_key=client-retry')).body.runs as { run_id: string }[];
    assert.deepEqual(
      runs.map((r) => r.run_id),
      [result.run_id],
    );
  });

  it('does not count a call twice when the first answer was lost', async () => {
    // the bridge records the first attempt, but the agent only sees a 503
    proxy.script = [{ kind: 'forward-then-reply', status: 503, retryAfter: '0', body: backpressure }];
    const result = await viaProxy.call('record_run', { project_key: 'client-lost', agent: 'claude-opus', summary: 'one audit entry' });
    assert.equal(result.duplicate, true);
    assert.equal(proxy.seen.length, 2);
    const runs = (await bridge.get('/v1/runs?project_key=client-lost')).body.runs as { run_id: string }[];
    assert.deepEqual(
      runs.map((r) => r.run_id),
      [result.run_id],
    );
  });

  it('retries rate_limited but never budget_exceeded', async () => {
    proxy.script = [{ kind: 'reply', status: 429, retryAfter: '0', body: { error: { code: 'rate_limited', message: 'slow down' } } }];
    const ok = await viaProxy.call('record_run', { project_key: 'client-429', agent: 'a', summary: 'after a rate limit' });
    assert.equal(ok.duplicate, undefined);
    assert.equal(proxy.seen.length, 2);

    proxy.seen.length = 0;
    proxy.script = [
      { kind: 'reply', status: 429, retryAfter: '0', body: { error: { code: 'budget_exceeded', message: 'project over budget' } } },
    ];
    await assert.rejects(
      viaProxy.call('record_run', { project_key: 'client-429', agent: 'a', summary: 'over budget' }),
      (e: unknown) => e instanceof OprelayError && e.code === 'budget_exceeded' && e.status === 429,
    );
    assert.equal(proxy.seen.length, 1);
  });

  it('gives up after maxRetries and reports the last error', async () => {
    const limited = createClient({ url: proxy.url, maxRetries: 2, retryBaseMs: 1 });
    proxy.script = [0, 1, 2].map(() => ({ kind: 'reply', status: 503, retryAfter: '0', body: backpressure }));
    await assert.rejects(
      limited.call('record_run', { project_key: 'client-giveup', agent: 'a', summary: 's' }),
      (e: unknown) => e instanceof OprelayError && e.code === 'backpressure' && e.status === 503,
    );
    assert.equal(proxy.seen.length, 3);
  });

  it('retries connection errors and then reports connection_failed', async () => {
    let attempts = 0;
    const counting: typeof fetch = (input, init) => {
      attempts++;
      return fetch(input, init);
    };
    // a free port with nothing listening: every attempt is refused
    const c = createClient({ url: `http://127.0.0.1:${await freePort()}`, fetch: counting, maxRetries: 2, retryBaseMs: 1 });
    await assert.rejects(
      c.call('record_run', { project_key: 'p', agent: 'a', summary: 's' }),
      (e: unknown) => e instanceof OprelayError && e.code === 'connection_failed' && e.status === 0,
    );
    assert.equal(attempts, 3);
  });
});
