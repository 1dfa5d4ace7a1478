import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { AGENT_ID, BridgeProcess } from './support/bridge-process.js';
import { OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.js';
import { PG_URL, postgresUnreachable } from './support/postgres.js';

/** Edge cases a newcomer hits: bad bytes, reused keys, odd times and totals, error types, secrets in keys. */

const unreachable = await postgresUnreachable();
if (unreachable) console.warn(`*** POSTGRES NOT REACHABLE at ${PG_URL} (${unreachable}): SKIPPING the postgres half of the edge cases ***`);
const SCHEMA = `edge_${process.pid}_${randomBytes(3).toString('hex')}`;

function storeUrl(schema: string): string {
  const url = new URL(PG_URL);
  url.searchParams.set('schema', schema);
  return url.toString();
}

const start = (project = 'edge', run_id = randomUUID(), extra: Record<string, unknown> = {}) => ({
  project_key: project,
  agent_id: AGENT_ID,
  run_id,
  ...extra,
});

async function startRun(b: BridgeProcess, project = 'edge', extra: Record<string, unknown> = {}): Promise<string> {
  const r = await b.tool('core_start_run', start(project, randomUUID(), extra));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.result.run_id as string;
}

/** The bridges under test: SQLite always, Postgres when reachable (both must answer the same). */
const stores: { name: string; bridge?: BridgeProcess }[] = [{ name: 'sqlite' }, { name: 'postgres' }];

describe('the same answer on every store', () => {
  before(async () => {
    stores[0].bridge = await BridgeProcess.start({ BRIDGE_LOG_LEVEL: 'warn' });
    if (!unreachable) stores[1].bridge = await BridgeProcess.start({ BRIDGE_STORE: storeUrl(SCHEMA), BRIDGE_LOG_LEVEL: 'warn' });
  });
  after(async () => {
    await Promise.all(stores.map((s) => s.bridge?.dispose()));
    if (!unreachable) {
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
      await admin.end();
    }
  });

  for (const s of stores) {
    const skip = s.name === 'postgres' && unreachable ? `postgres not reachable at ${PG_URL}` : false;

    it(`${s.name}: a NUL character in any string is a 400 naming the field, never a 500`, { skip }, async () => {
      const b = s.bridge!;
      const runId = randomUUID();
      const cases: [tool: string, body: Record<string, unknown>, field: string][] = [
        ['core_start_run', start('p\u0000x'), 'project_key'],
        ['record_run', { project_key: 'p\u0000x', agent: 'a', summary: 's' }, 'project_key'],
        ['core_record_failure', { project_key: 'p\u0000x', run_id: runId, agent_id: AGENT_ID, summary: 's' }, 'project_key'],
        ['core_record_failure', { project_key: 'p', run_id: runId, agent_id: AGENT_ID, summary: 's', error: 'boom\u0000' }, 'error'],
        ['core_start_run', start('p', randomUUID(), { summary: 'a\u0000b' }), 'summary'],
        ['core_start_run', start('p', randomUUID(), { meta_json: { deep: { list: ['ok', 'n\u0000ul'] } } }), 'meta_json.deep.list[1]'],
        ['core_start_run', start('p', randomUUID(), { meta_json: { 'k\u0000': 1 } }), 'meta_json'],
        ['record_run', { project_key: 'p', agent: 'a\u0000', summary: 's' }, 'agent'],
      ];
      for (const [tool, body, field] of cases) {
        const r = await b.tool(tool, body);
        assert.equal(r.status, 400, `${tool} ${field}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.error.code, 'invalid_argument');
        assert.ok(
          r.body.error.details.some((d: { path: string }) => d.path === field),
          `${tool}: details name ${field}: ${JSON.stringify(r.body.error.details)}`,
        );
        assert.match(r.body.error.message, /NUL/);
      }
      const usage = await b.tool('core_report_usage', { run_id: await startRun(b), token_usage: { model: 'm\u0000' } });
      assert.equal(usage.status, 400, JSON.stringify(usage.body));
      assert.equal(usage.body.error.details[0].path, 'token_usage.model');
      const list = await b.get('/v1/runs?project_key=p%00');
      assert.equal(list.status, 400, list.text);
      assert.equal(list.body.error.details[0].path, 'project_key');
      assert.equal((await b.get('/v1/runs?project_key=p')).status, 200, 'still serving');
    });

    it(
      `${s.name}: an Idempotency-Key reused with another body is a 422 naming the key; an identical retry is a duplicate`,
      { skip },
      async () => {
        const b = s.bridge!;
        const runId = await startRun(b);
        const key = { 'idempotency-key': `usage-${runId}` };
        const first = { run_id: runId, token_usage: { input_tokens: 100, output_tokens: 10, model: 'gpt-4o-mini' } };
        const a = await b.tool('core_report_usage', first, key);
        assert.equal(a.status, 200, JSON.stringify(a.body));
        assert.equal(a.body.result.duplicate, undefined);
        // same arguments, keys in another order: the same request
        const again = await b.tool(
          'core_report_usage',
          { token_usage: { model: 'gpt-4o-mini', output_tokens: 10, input_tokens: 100 }, run_id: runId },
          key,
        );
        assert.equal(again.status, 200, JSON.stringify(again.body));
        assert.equal(again.body.result.duplicate, true);
        assert.deepEqual(again.body.result.totals, a.body.result.totals);
        const other = await b.tool('core_report_usage', { run_id: runId, token_usage: { input_tokens: 7777, model: 'gpt-4o-mini' } }, key);
        assert.equal(other.status, 422, JSON.stringify(other.body));
        assert.equal(other.body.error.code, 'idempotency_key_reused');
        assert.match(other.body.error.message, new RegExp(`Idempotency-Key "usage-${runId}"`));
        assert.equal(other.body.error.details[0].path, 'Idempotency-Key');
        const view = await b.get(`/v1/runs/${runId}`);
        assert.equal(view.body.totals.input_tokens, 100, 'the rejected body changed nothing');
        // the body field idempotency_key follows the same rule
        const field = { run_id: runId, token_usage: { input_tokens: 5 }, idempotency_key: 'batch-1' };
        assert.equal((await b.tool('core_report_usage', field)).status, 200);
        assert.equal((await b.tool('core_report_usage', field)).body.result.duplicate, true);
        const changed = await b.tool('core_report_usage', { ...field, token_usage: { input_tokens: 6 } });
        assert.equal(changed.status, 422, JSON.stringify(changed.body));
        assert.equal(changed.body.error.details[0].path, 'idempotency_key');
        // a start with a reused key and another project key
        const startKey = { 'idempotency-key': `start-${runId}` };
        assert.equal((await b.tool('core_start_run', { project_key: 'edge', agent_id: AGENT_ID }, startKey)).status, 200);
        const startOther = await b.tool('core_start_run', { project_key: 'edge', agent_id: AGENT_ID, summary: 'other' }, startKey);
        assert.equal(startOther.status, 422, JSON.stringify(startOther.body));
      },
    );
  }
});

/** Every byte the store wrote (database, WAL), as one string. */
function storeBytes(dir: string): string {
  return readdirSync(dir)
    .map((f) => readFileSync(join(dir, f)).toString('latin1'))
    .join('\n');
}

/** POST from a given local address (127.0.0.x), so throttling by address can be tested on one host. */
function postFrom(
  localAddress: string,
  url: string,
  body: unknown,
  headers: Record<string, string>,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<{ status: number; headers: Record<string, unknown>; body: any }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = request(
      url,
      {
        method: 'POST',
        localAddress,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) as unknown }));
      },
    );
    req.once('error', reject);
    req.end(payload);
  });
}

describe('times, totals, error types and secrets', () => {
  const receiver = new OtlpReceiver();
  let b: BridgeProcess;
  const KEY = 'edge-key-0123456789';
  const auth = { authorization: `Bearer ${KEY}` };

  before(async () => {
    await receiver.start();
    b = await BridgeProcess.start({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, BRIDGE_API_KEYS: `${KEY}=*`, BRIDGE_LOG_LEVEL: 'warn' });
  });
  after(async () => {
    await b?.dispose();
    await receiver.stop();
  });

  const call = (tool: string, body: unknown) => b.tool(tool, body, auth);

  async function run(extra: Record<string, unknown> = {}): Promise<string> {
    const r = await call('core_start_run', start('edge', randomUUID(), extra));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.result.run_id as string;
  }

  async function traceOf(runId: string): Promise<ReceivedSpan[]> {
    const r = await call('core_end_run', { run_id: runId, status: 'completed' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const traceId = runId.replace(/-/g, '');
    return receiver
      .waitFor((all) => all.some((s) => s.traceId === traceId && s.name.startsWith('invoke_agent')), 10_000, `root of ${runId}`)
      .then(() => receiver.byTrace(traceId));
  }

  it('trace entries without times never start before their run; they are laid out back to back ending at the report', async () => {
    const runId = await run();
    const r = await call('core_report_usage', {
      run_id: runId,
      token_usage: { input_tokens: 1 },
      traces: [
        { name: 'plan', duration_ms: 3_600_000 },
        { tool: 'search', duration_ms: 400 },
        { model: 'gpt-4o-mini', duration_ms: 250 },
      ],
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const spans = await traceOf(runId);
    const root = spans.find((s) => s.name.startsWith('invoke_agent'))!;
    const byName = (n: string) => spans.find((s) => s.name === n)!;
    const [plan, search, chat] = [byName('plan'), byName('execute_tool search'), byName('chat gpt-4o-mini')];
    for (const s of [plan, search, chat])
      assert.ok(s.startMs >= root.startMs, `${s.name} starts at ${s.startMs}, not before the run's ${root.startMs}`);
    assert.ok(plan.endMs <= search.startMs && search.endMs <= chat.startMs, 'in order, back to back');
    assert.ok(chat.endMs > root.startMs, 'the last one ends at the report, after the run started');
    assert.ok(chat.endMs <= root.endMs);
    assert.equal(plan.startMs, root.startMs, 'the hour-long entry is cut at the run start');
    assert.equal(plan.attributes['oprelay.trace.duration_clamped'], true);
    assert.equal(plan.attributes['oprelay.trace.duration_ms'], 3_600_000, 'the duration the agent gave is kept');
  });

  it('timestamps that cannot be right are a 400 naming the field; a total below input + output is kept and flagged', async () => {
    const runId = await run();
    const bad: [entry: Record<string, unknown>, path: string, mention: RegExp][] = [
      [{ name: 'x', started_at: 5 }, 'traces[0].started_at', /2000-01-01/],
      [{ name: 'x', ended_at: 1_700_000_000 }, 'traces[0].ended_at', /seconds/],
      [{ name: 'x', started_at: 9e15 }, 'traces[0].started_at', /2100-01-01/],
      [{ name: 'x', started_at: '2026-01-01T10:00:05Z', ended_at: '2026-01-01T10:00:00Z' }, 'traces[0].ended_at', /before started_at/],
      [{ name: 'x', started_at: 1_767_261_605_000, ended_at: 1_767_261_600_000 }, 'traces[0].ended_at', /before started_at/],
    ];
    for (const [entry, path, mention] of bad) {
      const r = await call('core_report_usage', { run_id: runId, token_usage: {}, traces: [entry] });
      assert.equal(r.status, 400, `${JSON.stringify(entry)}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.details[0].path, path);
      assert.match(r.body.error.message, mention);
    }
    const odd = await call('core_report_usage', {
      run_id: runId,
      token_usage: { input_tokens: 100, output_tokens: 50, total_tokens: 120 },
      traces: [{ model: 'm', input_tokens: 10, output_tokens: 5, total_tokens: 3 }],
    });
    assert.equal(odd.status, 200, JSON.stringify(odd.body));
    assert.equal(odd.body.result.totals.total_tokens, 120, 'the reported total is kept');
    const spans = await traceOf(runId);
    const root = spans.find((s) => s.name.startsWith('invoke_agent'))!;
    assert.equal(root.attributes['oprelay.usage.total_mismatch'], true);
    assert.equal(spans.find((s) => s.name === 'chat m')!.attributes['oprelay.trace.total_mismatch'], true);
    const fine = await run();
    await call('core_report_usage', { run_id: fine, token_usage: { input_tokens: 100, output_tokens: 50, total_tokens: 150 } });
    const fineRoot = (await traceOf(fine)).find((s) => s.name.startsWith('invoke_agent'))!;
    assert.equal(fineRoot.attributes['oprelay.usage.total_mismatch'], undefined);
  });

  it('exception.type: one rule for "Error: …", "TypeError: …", Python tracebacks and plain text', async () => {
    const cases: [error: string | undefined, meta: Record<string, unknown> | undefined, type: string][] = [
      ['Error: connect ETIMEDOUT 10.0.0.5:5432', undefined, 'Error'],
      ['TypeError: x is not a function\n    at main (app.js:1:1)', undefined, 'TypeError'],
      [
        'Traceback (most recent call last):\n  File "a.py", line 1, in <module>\nrequests.exceptions.ConnectionError: refused',
        undefined,
        'requests.exceptions.ConnectionError',
      ],
      ['java.lang.IllegalStateException: closed', undefined, 'java.lang.IllegalStateException'],
      ['connection refused', { error_type: 'NetworkTimeout' }, 'NetworkTimeout'],
      ['ErrorBudget exhausted', undefined, 'failure'],
      [undefined, undefined, 'failure'],
    ];
    for (const [error, meta, type] of cases) {
      const runId = randomUUID();
      const r = await call('core_record_failure', {
        project_key: 'edge',
        run_id: runId,
        agent_id: AGENT_ID,
        summary: 's',
        ...(error ? { error } : {}),
        ...(meta ? { meta } : {}),
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const root = (await traceOf(runId)).find((s) => s.name.startsWith('invoke_agent'))!;
      const event = root.events.find((e) => e.name === 'exception')!;
      assert.equal(event.attributes['exception.type'], type, `${String(error)} → ${type}`);
    }
  });

  it('secrets used as object keys in meta_json and context are redacted, at the collector and at rest', async () => {
    const secret = 'sk-proj-Abc123def456ghi789jkl012mno345';
    const runId = await run({ meta_json: { [secret]: 'x', nested: { [`Bearer ${'9'.repeat(24)}`]: 1 } } });
    const f = await call('core_record_failure', {
      project_key: 'edge',
      run_id: runId,
      agent_id: AGENT_ID,
      summary: 's',
      context: { [secret]: { ok: true } },
    });
    assert.equal(f.status, 200, JSON.stringify(f.body));
    const spans = await traceOf(runId);
    const text = JSON.stringify(spans);
    assert.ok(!text.includes(secret), 'the key never reaches the collector');
    assert.ok(!text.includes('9'.repeat(24)), 'the bearer token in a nested key never reaches the collector');
    const root = spans.find((s) => s.name.startsWith('invoke_agent'))!;
    assert.equal(root.attributes['oprelay.meta.[REDACTED:api_key]'], 'x');
    const context = root.events.find((e) => e.name === 'exception')!.attributes['oprelay.failure.context'] as string;
    assert.deepEqual(JSON.parse(context), { '[REDACTED:api_key]': { ok: true } });
    assert.ok(!storeBytes(b.dataDir).includes(secret), 'nor the store');
  });

  it('repeated bad keys from one address get 429 after a bound; other addresses and good keys are not slowed', async () => {
    const url = `${b.url}/v1/tools/core_start_run`;
    const body = start('edge');
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++)
      statuses.push((await postFrom('127.0.0.2', url, body, { authorization: `Bearer wrong-${i}-000000` })).status);
    assert.deepEqual(statuses.slice(0, 20), Array(20).fill(401), 'the first 20 failures are answered 401');
    assert.deepEqual(statuses.slice(20), Array(5).fill(429), 'then 429');
    const limited = await postFrom('127.0.0.2', url, body, { authorization: 'Bearer wrong-again-000000' });
    assert.equal(limited.body.error.code, 'rate_limited');
    assert.ok(Number(limited.headers['retry-after']) >= 1, 'with Retry-After');
    const goodOther = await postFrom('127.0.0.3', url, start('edge'), auth);
    assert.equal(goodOther.status, 200, 'a good key from another address');
    assert.equal(
      (await postFrom('127.0.0.3', url, body, { authorization: 'Bearer wrong-other-000000' })).status,
      401,
      'another address still gets 401, not 429',
    );
  });
});
