import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'node:http';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { AGENT_ID, BridgeProcess } from './support/bridge-process.js';

const RUN_ID = '7c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f';

function nested(depth: number): Record<string, unknown> {
  let v: Record<string, unknown> = { leaf: 1 };
  for (let i = 1; i < depth; i++) v = { n: v };
  return v;
}

interface Case {
  name: string;
  tool: string;
  body: unknown;
  status: number;
  code: string;
  /** the message must mention each of these */
  mentions: (string | RegExp)[];
}

/** Repeating a start changes nothing: these calls succeed without touching the run. */
const REPEAT_START = JSON.stringify({ project_key: 'p', agent_id: AGENT_ID, run_id: RUN_ID });

const usage = (token_usage: Record<string, unknown>) => ({ run_id: RUN_ID, token_usage });

const CASES: Case[] = [
  {
    name: 'missing required field',
    tool: 'core_start_run',
    body: { agent_id: AGENT_ID },
    status: 400,
    code: 'invalid_argument',
    mentions: ['project_key', 'required'],
  },
  {
    name: 'unknown field (typo)',
    tool: 'core_report_usage',
    body: usage({ input_token: 5 }),
    status: 400,
    code: 'invalid_argument',
    mentions: ['token_usage.input_token', 'unknown field'],
  },
  {
    name: 'unknown top-level field',
    tool: 'core_start_run',
    body: { project_key: 'p', agent_id: AGENT_ID, colour: 'red' },
    status: 400,
    code: 'invalid_argument',
    mentions: ['colour'],
  },
  {
    name: 'bad UUID',
    tool: 'core_start_run',
    body: { project_key: 'p', agent_id: 'agent-uuid' },
    status: 400,
    code: 'invalid_argument',
    mentions: ['agent_id', 'UUID'],
  },
  {
    name: 'nil UUID',
    tool: 'core_start_run',
    body: { project_key: 'p', agent_id: '00000000-0000-0000-0000-000000000000' },
    status: 400,
    code: 'invalid_argument',
    mentions: ['agent_id', 'nil'],
  },
  {
    name: 'summary over 2000',
    tool: 'core_start_run',
    body: { project_key: 'p', agent_id: AGENT_ID, summary: 'x'.repeat(2001) },
    status: 400,
    code: 'invalid_argument',
    mentions: ['summary', '2000'],
  },
  {
    name: 'error over 8000',
    tool: 'core_record_failure',
    body: { project_key: 'p', run_id: RUN_ID, agent_id: AGENT_ID, summary: 's', error: 'e'.repeat(8001) },
    status: 400,
    code: 'invalid_argument',
    mentions: ['error', '8000'],
  },
  {
    name: 'agent over 128',
    tool: 'record_run',
    body: { project_key: 'p', agent: 'a'.repeat(129), summary: 's' },
    status: 400,
    code: 'invalid_argument',
    mentions: ['agent', '128'],
  },
  {
    name: 'ticket over 64',
    tool: 'record_run',
    body: { project_key: 'p', agent: 'a', summary: 's', ticket: 't'.repeat(65) },
    status: 400,
    code: 'invalid_argument',
    mentions: ['ticket', '64'],
  },
  {
    name: 'project_key of only spaces (like an empty one)',
    tool: 'core_start_run',
    body: { project_key: '   ', agent_id: AGENT_ID },
    status: 400,
    code: 'invalid_argument',
    mentions: ['project_key', 'must not be only spaces'],
  },
  {
    name: 'project_key over 128',
    tool: 'core_start_run',
    body: { project_key: 'p'.repeat(129), agent_id: AGENT_ID },
    status: 400,
    code: 'invalid_argument',
    mentions: ['project_key', '128'],
  },
  {
    name: 'prompt_preview over 2000',
    tool: 'core_report_usage',
    body: usage({ prompt_preview: 'x'.repeat(2001) }),
    status: 400,
    code: 'invalid_argument',
    mentions: ['token_usage.prompt_preview', '2000'],
  },
  {
    name: 'negative tokens',
    tool: 'core_report_usage',
    body: usage({ input_tokens: -1 }),
    status: 400,
    code: 'invalid_argument',
    mentions: ['token_usage.input_tokens', 'non-negative'],
  },
  {
    name: 'fractional tokens',
    tool: 'core_report_usage',
    body: usage({ output_tokens: 1.5 }),
    status: 400,
    code: 'invalid_argument',
    mentions: ['token_usage.output_tokens', 'integer'],
  },
  {
    name: 'tokens beyond safe integers',
    tool: 'core_report_usage',
    body: usage({ output_tokens: 2 ** 53 }),
    status: 400,
    code: 'invalid_argument',
    mentions: ['token_usage.output_tokens'],
  },
  {
    name: 'string tokens',
    tool: 'core_report_usage',
    body: usage({ llm_calls: '3' }),
    status: 400,
    code: 'invalid_argument',
    mentions: ['token_usage.llm_calls'],
  },
  {
    name: 'negative cost',
    tool: 'core_report_usage',
    body: usage({ cost_usd: -0.01 }),
    status: 400,
    code: 'invalid_argument',
    mentions: ['token_usage.cost_usd', 'non-negative'],
  },
  {
    name: 'non-finite cost (1e999 parses to Infinity)',
    tool: 'core_report_usage',
    body: '{"run_id":"' + RUN_ID + '","token_usage":{"cost_usd":1e999}}',
    status: 400,
    code: 'invalid_argument',
    mentions: ['token_usage.cost_usd'],
  },
  {
    name: 'more than 200 traces',
    tool: 'core_report_usage',
    body: { ...usage({}), traces: Array.from({ length: 201 }, () => ({ name: 's' })) },
    status: 400,
    code: 'invalid_argument',
    mentions: ['traces', '200'],
  },
  {
    name: 'bad trace entry field',
    tool: 'core_report_usage',
    body: { ...usage({}), traces: [{ tool: 'x', input_tokens: -3 }] },
    status: 400,
    code: 'invalid_argument',
    mentions: ['traces[0].input_tokens'],
  },
  {
    name: 'meta over 16 KiB',
    tool: 'core_start_run',
    body: { project_key: 'p', agent_id: AGENT_ID, meta_json: { blob: 'x'.repeat(17 * 1024) } },
    status: 400,
    code: 'invalid_argument',
    mentions: ['meta_json', '16384'],
  },
  {
    name: 'meta deeper than 8',
    tool: 'core_start_run',
    body: { project_key: 'p', agent_id: AGENT_ID, meta_json: nested(9) },
    status: 400,
    code: 'invalid_argument',
    mentions: ['meta_json', '8 levels'],
  },
  {
    name: 'context deeper than 8',
    tool: 'core_record_failure',
    body: { project_key: 'p', run_id: RUN_ID, agent_id: AGENT_ID, summary: 's', context: nested(9) },
    status: 400,
    code: 'invalid_argument',
    mentions: ['context', '8 levels'],
  },
  {
    name: 'meta_json not an object',
    tool: 'core_start_run',
    body: { project_key: 'p', agent_id: AGENT_ID, meta_json: [1, 2] },
    status: 400,
    code: 'invalid_argument',
    mentions: ['meta_json', 'object'],
  },
  {
    name: 'bad status',
    tool: 'core_end_run',
    body: { run_id: RUN_ID, status: 'done' },
    status: 400,
    code: 'invalid_argument',
    mentions: ['status', 'completed, failed, interrupted'],
  },
  { name: 'body is an array', tool: 'core_start_run', body: [], status: 400, code: 'invalid_argument', mentions: ['body', 'object'] },
  {
    name: 'malformed JSON',
    tool: 'core_start_run',
    body: '{"project_key": "p",',
    status: 400,
    code: 'invalid_argument',
    mentions: ['malformed JSON'],
  },
];

describe('bad input: a clear 4xx naming field and limit, nothing changed, still serving', () => {
  let b: BridgeProcess;
  let before_: unknown;
  before(async () => {
    b = await BridgeProcess.start();
    await b.tool('core_start_run', { project_key: 'p', agent_id: AGENT_ID, run_id: RUN_ID });
    await b.tool('core_report_usage', usage({ input_tokens: 10, output_tokens: 1, cost_usd: 0.5 }));
    before_ = (await b.get(`/v1/runs/${RUN_ID}`)).body;
  });
  after(async () => b.dispose());

  for (const c of CASES) {
    it(c.name, async () => {
      const r = await fetch(`${b.url}/v1/tools/${c.tool}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: typeof c.body === 'string' ? c.body : JSON.stringify(c.body),
      });
      const body = (await r.json()) as { error: { code: string; message: string; details?: unknown[] } };
      assert.equal(r.status, c.status, JSON.stringify(body));
      assert.equal(body.error.code, c.code);
      for (const m of c.mentions) {
        if (typeof m === 'string') assert.ok(body.error.message.includes(m), `"${body.error.message}" should mention "${m}"`);
        else assert.match(body.error.message, m);
      }
      assert.ok(Array.isArray(body.error.details) && body.error.details.length > 0, 'details name the fields');
    });
  }

  it('wrong content type → 415', async () => {
    const r = await fetch(`${b.url}/v1/tools/core_start_run`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' });
    assert.equal(r.status, 415);
    const body = (await r.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'unsupported_media_type');
    assert.match(body.error.message, /application\/json/);
  });

  it('body over 1 MiB → 413 naming the limit', async () => {
    const big = JSON.stringify({ project_key: 'p', agent_id: AGENT_ID, summary: 'x'.repeat(1024 * 1024) });
    const r = await fetch(`${b.url}/v1/tools/core_start_run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: big,
    });
    assert.equal(r.status, 413);
    const body = (await r.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'payload_too_large');
    assert.match(body.error.message, /1048576/);
  });

  it('the tool route reads bodies as express.json() did: gzip and deflate, charset, encodings, empty and non-object bodies', async () => {
    const send = (headers: Record<string, string>, body: string | Buffer) =>
      fetch(`${b.url}/v1/tools/core_start_run`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : new Uint8Array(body),
      });
    const report = REPEAT_START;
    for (const [encoding, zip] of [
      ['gzip', gzipSync],
      ['deflate', deflateSync],
      ['br', brotliCompressSync],
    ] as const) {
      const r = await send({ 'content-encoding': encoding }, zip(report));
      assert.equal(r.status, 200, `${encoding}: ${await r.clone().text()}`);
    }
    const utf8 = await send({ 'content-type': 'application/json; charset=UTF-8' }, report);
    assert.equal(utf8.status, 200);

    const latin1 = await send({ 'content-type': 'application/json; charset=latin1' }, report);
    assert.equal(latin1.status, 415);
    assert.match(((await latin1.json()) as { error: { message: string } }).error.message, /charset "LATIN1"/);
    const compress = await send({ 'content-encoding': 'compress' }, report);
    assert.equal(compress.status, 415);
    assert.match(((await compress.json()) as { error: { message: string } }).error.message, /content encoding "compress"/);

    const empty = await send({}, '');
    assert.equal(empty.status, 400, 'an empty body is {}: the required fields are named');
    assert.match(((await empty.json()) as { error: { message: string } }).error.message, /project_key: is required/);
    const scalar = await send({}, '"just a string"');
    assert.equal(scalar.status, 400);
    assert.match(
      ((await scalar.json()) as { error: { message: string } }).error.message,
      /body: must be a JSON object with the tool arguments \(got string\)/,
    );

    const bomb = await send({ 'content-encoding': 'gzip' }, gzipSync(Buffer.alloc(2 * 1024 * 1024, 0x20)));
    assert.equal(bomb.status, 413, 'the limit applies to the inflated body');
  });

  it('the tool route matches paths as express routes do: case, trailing slash, query string, percent-encoding', async () => {
    const report = REPEAT_START;
    for (const path of [
      '/V1/Tools/core_start_run',
      '/v1/tools/core_start_run/',
      '/v1/tools/core_start_run?x=1',
      '/v1/tools/core%5Fstart_run',
    ]) {
      const r = await fetch(`${b.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: report });
      assert.equal(r.status, 200, path);
    }
    const absolute = await new Promise<number>((resolve, reject) => {
      const { port } = new URL(b.url);
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: `http://127.0.0.1:${port}/v1/tools/core_start_run`,
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(report);
    });
    assert.equal(absolute, 200, 'absolute-form request target');
    const nested = await fetch(`${b.url}/v1/tools/core_start_run/x`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: report,
    });
    assert.equal(nested.status, 404);
    const unknown = await fetch(`${b.url}/v1/tools/%E0%A4%A`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, 'unknown_tool');
  });

  it('GET on a tool → 405; bad run id in the path → 400', async () => {
    assert.equal((await b.get('/v1/tools/core_start_run')).status, 405);
    const r = await b.get('/v1/runs/not-a-uuid');
    assert.equal(r.status, 400);
    assert.match(r.body.error.message, /run_id/);
  });

  it('left the run exactly as it was and keeps serving', async () => {
    const now = (await b.get(`/v1/runs/${RUN_ID}`)).body;
    assert.deepEqual(now, before_);
    const list = await b.get('/v1/runs?limit=500');
    assert.equal(list.body.runs.length, 1, 'no bad call created a run');
    const ok = await b.tool('core_report_usage', usage({ input_tokens: 1 }));
    assert.equal(ok.status, 200);
    assert.equal(ok.body.result.totals.input_tokens, 11);
  });
});
