import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { AGENT_ID, BridgeProcess, CLI, freePort, tempDir } from './support/bridge-process.js';
import { OtlpReceiver } from './support/otlp-receiver.js';

const KEY_A = 'key-proj-a-0123456789';
const KEY_B = 'key-proj-b-0123456789';
const KEY_AC = 'key-proj-a-c-0123456789';
const KEY_ALL = 'key-all-projects-012345';
const ENV_KEYS = `${KEY_A}=proj-a;${KEY_B}=proj-b;${KEY_AC}=proj-a,proj-c;${KEY_ALL}=*`;
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

const RUN_A = '0a0a0a0a-1111-4222-8333-444444444444';
const RUN_B = '0b0b0b0b-1111-4222-8333-444444444444';
const UNKNOWN = '0c0c0c0c-1111-4222-8333-444444444444';
const notFound = (id: string) => ({ error: { code: 'run_not_found', message: `run ${id} not found` } });

/** `node dist/cli.js …` with the given environment; resolves with exit code and output. */
function cli(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 15_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cli ${args.join(' ')} timed out:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Every byte the store wrote (database, WAL, journal), as one string. */
function storeBytes(dir: string): string {
  return readdirSync(dir)
    .map((f) => readFileSync(join(dir, f)).toString('latin1'))
    .join('\n');
}

async function until<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 6_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await fn();
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
    last = await fn();
  }
  return last;
}

const start = (project: string, run_id?: string, extra: Record<string, unknown> = {}) => ({
  project_key: project,
  agent_id: AGENT_ID,
  ...(run_id ? { run_id } : {}),
  ...extra,
});

describe('API keys: hashed at rest, printed once, revocable, scoped', () => {
  let b: BridgeProcess;
  let lone: BridgeProcess;
  before(async () => {
    b = await BridgeProcess.start({ BRIDGE_API_KEYS: ENV_KEYS });
    lone = await BridgeProcess.start();
  });
  after(async () => {
    await b?.dispose();
    await lone?.dispose();
  });

  it('keys create prints the key once; the store holds only its SHA-256; keys list shows no key material; revoke → 401', async () => {
    const env = { BRIDGE_DATA_DIR: b.dataDir };
    const created = await cli(['keys', 'create', '--project', 'proj-c', '--label', 'ci'], env);
    assert.equal(created.code, 0, created.stderr);
    const { id, key, projects } = JSON.parse(created.stdout) as { id: string; key: string; projects: string[] };
    assert.deepEqual(projects, ['proj-c']);
    assert.match(key, /^oprb_[A-Za-z0-9_-]{32}$/);
    assert.match(created.stderr, /cannot be shown again/);

    const bytes = storeBytes(b.dataDir);
    assert.ok(!bytes.includes(key), 'the plaintext key is nowhere in the store');
    assert.ok(bytes.includes(createHash('sha256').update(key).digest('hex')), 'the store keeps its SHA-256');

    const listed = await cli(['keys', 'list'], env);
    assert.equal(listed.code, 0, listed.stderr);
    const rows = listed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      rows.map((r) => [r.id, r.projects, r.label, r.revoked]),
      [[id, ['proj-c'], 'ci', false]],
    );
    assert.ok(!listed.stdout.includes(key) && !listed.stdout.includes(key.slice(5, 15)), 'no key material in keys list');
    assert.ok(!listed.stdout.includes(createHash('sha256').update(key).digest('hex')), 'not even the hash');

    // the running bridge picks the new key up within its 2 s reload
    const ok = await until(
      'the new key to work',
      () => b.tool('core_start_run', start('proj-c'), bearer(key)),
      (r) => r.status === 200,
    );
    assert.match(ok.body.result.run_id, /^[0-9a-f-]{36}$/);
    const other = await b.tool('core_start_run', start('proj-a'), bearer(key));
    assert.equal(other.status, 403);
    assert.equal(other.body.error.code, 'forbidden');

    const revoked = await cli(['keys', 'revoke', id], env);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal(revoked.stdout.trim(), `revoked ${id}`);
    // SECURITY.md: refused within 2 s of the command's end (the poll allows one request's time past that)
    const revokedAt = performance.now();
    const denied = await until(
      'the revoked key to be refused',
      () => b.tool('core_start_run', start('proj-c'), bearer(key)),
      (r) => r.status === 401,
      2_500,
    );
    assert.equal(denied.body.error.code, 'unauthorized');
    console.log(`revoked key refused ${Math.round(performance.now() - revokedAt)} ms after keys revoke exited`);
    const again = await cli(['keys', 'revoke', id], env);
    assert.equal(again.code, 2, 'revoking twice is a usage error');
  });

  it('revoking the only key closes the bridge instead of opening it', async () => {
    const env = { BRIDGE_DATA_DIR: lone.dataDir };
    assert.equal(
      (await lone.tool('record_run', { project_key: 'p', agent: 'a', summary: 's' })).status,
      200,
      'open on loopback without keys',
    );
    const { id, key } = JSON.parse((await cli(['keys', 'create', '--project', 'p'], env)).stdout) as { id: string; key: string };
    await until(
      'keys to be required',
      () => lone.tool('record_run', { project_key: 'p', agent: 'a', summary: 's' }),
      (r) => r.status === 401,
    );
    assert.equal((await lone.tool('record_run', { project_key: 'p', agent: 'a', summary: 's' }, bearer(key))).status, 200);
    assert.equal((await cli(['keys', 'revoke', id], env)).code, 0);
    await until(
      'the revoked key to be refused',
      () => lone.tool('record_run', { project_key: 'p', agent: 'a', summary: 's' }, bearer(key)),
      (r) => r.status === 401,
    );
    const anonymous = await lone.tool('record_run', { project_key: 'p', agent: 'a', summary: 's' });
    assert.equal(anonymous.status, 401, 'still closed with no active key');
  });

  it('missing, malformed and unknown keys → 401 with WWW-Authenticate, naming nothing about keys that exist', async () => {
    // no key, another scheme, an unknown key, and a real key with one character more (a near miss)
    const answers: string[] = [];
    for (const headers of [{}, { authorization: 'Basic abc' }, bearer('not-a-key-at-all'), bearer(`${KEY_A}x`)]) {
      const r = await fetch(`${b.url}/v1/tools/core_start_run`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(start('proj-a')),
      });
      assert.equal(r.status, 401);
      assert.equal(r.headers.get('www-authenticate'), 'Bearer');
      const text = await r.text();
      assert.equal((JSON.parse(text) as { error: { code: string } }).error.code, 'unauthorized');
      answers.push(text);
    }
    // a near miss of a real key gets exactly the answer of a made-up key; neither names a key or project
    assert.equal(answers[3], answers[2]);
    assert.equal(answers[1], answers[0], 'another scheme is answered as no key');
    for (const answer of answers) {
      for (const secret of [KEY_A, KEY_B, KEY_AC, KEY_ALL, KEY_A.slice(0, 8), 'proj-a', 'proj-b', 'proj-c', 'env:']) {
        assert.ok(!answer.includes(secret), `the 401 names nothing about existing keys: ${answer}`);
      }
    }
    assert.equal((await b.get('/v1/runs')).status, 401);
    const badCookie = await b.get('/v1/runs', { cookie: 'oprelay_key=%E0%A4%A' });
    assert.equal(badCookie.status, 401, 'a malformed cookie is no key');
    assert.equal((await b.get('/v1/runs', { cookie: `oprelay_key=${KEY_ALL}` })).status, 200, 'the live page cookie works for reads');
    const viaCookie = await fetch(`${b.url}/v1/tools/record_run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: `oprelay_key=${KEY_ALL}` },
      body: JSON.stringify({ project_key: 'p', agent: 'a', summary: 's' }),
    });
    assert.equal(viaCookie.status, 401, 'a browser session never authorises tool calls');
    assert.equal((await b.get('/healthz')).status, 200, 'health stays public');
  });

  it('BRIDGE_API_KEYS scopes keys to their projects; * covers all', async () => {
    assert.equal((await b.tool('core_start_run', start('proj-a'), bearer(KEY_A))).status, 200);
    assert.equal((await b.tool('core_start_run', start('proj-b'), bearer(KEY_A))).status, 403);
    assert.equal((await b.tool('core_start_run', start('proj-c'), bearer(KEY_AC))).status, 200);
    assert.equal((await b.tool('core_start_run', start('proj-b'), bearer(KEY_AC))).status, 403);
    for (const p of ['proj-a', 'proj-b', 'anything-else'])
      assert.equal((await b.tool('core_start_run', start(p), bearer(KEY_ALL))).status, 200, p);
  });

  it('/metrics needs a * key once keys exist', async () => {
    assert.equal((await b.get('/metrics')).status, 401);
    const scoped = await b.get('/metrics', bearer(KEY_A));
    assert.equal(scoped.status, 403);
    assert.equal(scoped.body.error.code, 'forbidden');
    const all = await b.get('/metrics', bearer(KEY_ALL));
    assert.equal(all.status, 200);
    assert.match(all.text, /oprelay_runs_started[^\n]*proj-a/);
  });
});

describe('project isolation: another project’s runs are invisible', () => {
  let b: BridgeProcess;
  let snapshot: unknown;
  before(async () => {
    b = await BridgeProcess.start({ BRIDGE_API_KEYS: ENV_KEYS });
    const B = bearer(KEY_B);
    assert.equal(
      (await b.tool('core_start_run', start('proj-b', RUN_B, { summary: 'b work' }), { ...B, 'idempotency-key': 'shared-key' })).status,
      200,
    );
    const usage = { run_id: RUN_B, token_usage: { input_tokens: 10, output_tokens: 2, cost_usd: 0.5 }, idempotency_key: 'batch-1' };
    assert.equal((await b.tool('core_report_usage', usage, B)).status, 200);
    assert.equal(
      (await b.tool('core_record_failure', { project_key: 'proj-b', run_id: RUN_B, agent_id: AGENT_ID, summary: 'f' }, B)).status,
      200,
    );
    assert.equal((await b.tool('core_start_run', start('proj-a', RUN_A), bearer(KEY_A))).status, 200);
    snapshot = (await b.get(`/v1/runs/${RUN_B}`, B)).body;
  });
  after(async () => b?.dispose());

  const A = bearer(KEY_A);

  it('report_usage, end_run and GET /v1/runs/{id} answer exactly as for an unknown run', async () => {
    const calls: [string, (id: string) => Promise<{ status: number; body: unknown }>][] = [
      ['core_report_usage', (id) => b.tool('core_report_usage', { run_id: id, token_usage: { input_tokens: 1 } }, A)],
      [
        'core_report_usage (repeating B’s idempotency key)',
        (id) =>
          b.tool(
            'core_report_usage',
            { run_id: id, token_usage: { input_tokens: 10, output_tokens: 2, cost_usd: 0.5 }, idempotency_key: 'batch-1' },
            A,
          ),
      ],
      ['core_end_run', (id) => b.tool('core_end_run', { run_id: id, status: 'completed' }, A)],
      [
        'core_end_run (Idempotency-Key header)',
        (id) => b.tool('core_end_run', { run_id: id, status: 'failed' }, { ...A, 'idempotency-key': 'shared-key' }),
      ],
      ['GET /v1/runs/{id}', (id) => b.get(`/v1/runs/${id}`, A)],
    ];
    for (const [name, call] of calls) {
      const other = await call(RUN_B);
      const unknown = await call(UNKNOWN);
      assert.equal(other.status, 404, name);
      assert.deepEqual(other.body, notFound(RUN_B), name);
      assert.deepEqual(unknown.body, notFound(UNKNOWN), name);
      assert.deepEqual(JSON.stringify(other.body).replaceAll(RUN_B, 'ID'), JSON.stringify(unknown.body).replaceAll(UNKNOWN, 'ID'), name);
    }
  });

  it('start_run and record_failure in the key’s own project with the other project’s run_id → 404', async () => {
    const calls: [string, () => Promise<{ status: number; body: unknown }>][] = [
      ['core_start_run', () => b.tool('core_start_run', start('proj-a', RUN_B), A)],
      [
        'core_start_run (repeating B’s Idempotency-Key)',
        () => b.tool('core_start_run', start('proj-a', RUN_B), { ...A, 'idempotency-key': 'shared-key' }),
      ],
      [
        'core_record_failure',
        () => b.tool('core_record_failure', { project_key: 'proj-a', run_id: RUN_B, agent_id: AGENT_ID, summary: 'x' }, A),
      ],
      [
        'core_start_run with parent_run_id in proj-b',
        () => b.tool('core_start_run', start('proj-a', undefined, { meta_json: { parent_run_id: RUN_B } }), A),
      ],
    ];
    for (const [name, call] of calls) {
      const r = await call();
      assert.equal(r.status, 404, `${name}: ${JSON.stringify(r.body)}`);
      assert.equal((r.body as { error: { code: string } }).error.code, 'run_not_found', name);
      assert.ok(!JSON.stringify(r.body).includes('proj-b'), `${name} does not name the owner`);
    }
  });

  it('start_run, record_failure and record_run naming the other project → 403 forbidden', async () => {
    const calls: [string, () => Promise<{ status: number; body: { error: { code: string; message: string } } }>][] = [
      ['core_start_run', () => b.tool('core_start_run', start('proj-b', UNKNOWN), A)],
      [
        'core_record_failure',
        () => b.tool('core_record_failure', { project_key: 'proj-b', run_id: RUN_B, agent_id: AGENT_ID, summary: 'x' }, A),
      ],
      ['record_run', () => b.tool('record_run', { project_key: 'proj-b', agent: 'a', summary: 's' }, A)],
    ];
    for (const [name, call] of calls) {
      const r = await call();
      assert.equal(r.status, 403, name);
      assert.deepEqual(r.body, { error: { code: 'forbidden', message: 'this API key does not cover project "proj-b"' } }, name);
    }
  });

  it('GET /v1/runs lists only the key’s projects, whatever the filter', async () => {
    const mine = await b.get('/v1/runs', A);
    assert.deepEqual(
      mine.body.runs.map((r: { run_id: string }) => r.run_id),
      [RUN_A],
    );
    const theirs = await b.get('/v1/runs?project_key=proj-b', A);
    assert.equal(theirs.status, 200);
    assert.deepEqual(theirs.body, { runs: [], next_cursor: null });
    const all = await b.get('/v1/runs', bearer(KEY_ALL));
    assert.deepEqual(all.body.runs.map((r: { run_id: string }) => r.run_id).sort(), [RUN_A, RUN_B]);
  });

  it('MCP: no key → 401; cross-project calls → isError run_not_found / forbidden', async () => {
    const init = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    };
    const r = await fetch(`${b.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify(init),
    });
    assert.equal(r.status, 401);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'unauthorized');

    const client = new Client({ name: 'security-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${b.url}/mcp`), { requestInit: { headers: A } }));
    try {
      const errorOf = async (name: string, args: Record<string, unknown>) => {
        const res = (await client.callTool({ name, arguments: args })) as { isError?: boolean; content: { type: string; text: string }[] };
        assert.equal(res.isError, true, `${name}: ${JSON.stringify(res)}`);
        return JSON.parse(res.content[0].text) as { error: { code: string; message: string } };
      };
      assert.deepEqual(await errorOf('core_report_usage', { run_id: RUN_B, token_usage: { input_tokens: 1 } }), notFound(RUN_B));
      assert.deepEqual(await errorOf('core_end_run', { run_id: RUN_B, status: 'completed' }), notFound(RUN_B));
      assert.deepEqual(await errorOf('core_start_run', start('proj-a', RUN_B)), notFound(RUN_B));
      assert.equal(
        (await errorOf('core_record_failure', { project_key: 'proj-b', run_id: RUN_B, agent_id: AGENT_ID, summary: 'x' })).error.code,
        'forbidden',
      );
      assert.equal((await errorOf('record_run', { project_key: 'proj-b', agent: 'a', summary: 's' })).error.code, 'forbidden');
    } finally {
      await client.close();
    }
  });

  it('left the other project’s run exactly as it was', async () => {
    assert.deepEqual((await b.get(`/v1/runs/${RUN_B}`, bearer(KEY_B))).body, snapshot);
    const runs = (await b.get('/v1/runs', bearer(KEY_ALL))).body.runs as { run_id: string }[];
    assert.equal(runs.length, 2, 'no refused call created a run');
  });
});

describe('refusal to serve open on a non-loopback address', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('0.0.0.0 without keys exits non-zero naming BRIDGE_API_KEYS and BRIDGE_AUTH', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const r = await cli(['serve'], {
      BRIDGE_HOST: '0.0.0.0',
      BRIDGE_PORT: String(await freePort()),
      BRIDGE_DATA_DIR: dir,
      OTEL_METRICS_EXPORTER: 'none',
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /BRIDGE_API_KEYS/);
    assert.match(r.stderr, /BRIDGE_AUTH=off/);
  });

  it('with BRIDGE_AUTH=off it starts and logs a warning', async () => {
    const b = await BridgeProcess.start({ BRIDGE_HOST: '0.0.0.0', BRIDGE_AUTH: 'off' });
    try {
      assert.equal((await b.tool('record_run', { project_key: 'p', agent: 'a', summary: 's' })).status, 200);
      const warning = b.logs.map((l) => JSON.parse(l) as { level: string; msg: string; auth?: string }).find((l) => l.level === 'warn');
      assert.ok(warning, b.logs.join('\n'));
      assert.match(warning.msg, /no API keys/);
      assert.equal(warning.auth, 'off');
    } finally {
      await b.dispose();
    }
  });
});

const SECRETS: { kind: string; secret: string; needle: string }[] = [
  { kind: 'api_key', secret: 'sk-proj-4fG7hJ2kL9mN3pQ8rS1tU6vW0xY5zA2bC7dE', needle: '4fG7hJ2kL9mN3pQ8' },
  { kind: 'api_key', secret: 'AKIAIOSFODNN7EXAMPLE', needle: 'AKIAIOSFODNN7EXAMPLE' },
  { kind: 'api_key', secret: 'ghp_1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R', needle: '1a2B3c4D5e6F7g8H' },
  { kind: 'api_key', secret: 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx', needle: 'AbCdEfGhIjKlMnOp' },
  { kind: 'bearer', secret: 'Authorization: Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0', needle: '9f8e7d6c5b4a3928' },
  { kind: 'url_password', secret: 'postgres://admin:S3cr3tPassw0rd@db.internal:5432/app', needle: 'S3cr3tPassw0rd' },
  {
    kind: 'jwt',
    secret: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
    needle: 'dozjgNryP4J3jVmN',
  },
  {
    kind: 'private_key',
    secret: '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1c7+9z5Pad7Oej\n-----END RSA PRIVATE KEY-----',
    needle: 'MIIEowIBAAKCAQEA1c7',
  },
];
const LEAK = SECRETS.map((s) => `leaked ${s.secret} here`).join('; ');
const KINDS = [...new Set(SECRETS.map((s) => s.kind))];

describe('redaction: secrets never leave the bridge', () => {
  const receiver = new OtlpReceiver();
  let b: BridgeProcess;
  let bare: BridgeProcess;
  const RUN = '5e5e5e5e-1111-4222-8333-444444444444';
  const BARE_RUN = '6e6e6e6e-1111-4222-8333-444444444444';
  before(async () => {
    await receiver.start();
    b = await BridgeProcess.start({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    bare = await BridgeProcess.start({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, BRIDGE_CAPTURE_CONTENT: 'false' });
  });
  after(async () => {
    await b?.dispose();
    await bare?.dispose();
    await receiver.stop();
  });

  it('in summaries, prompt_preview, error, context, meta values and trace entries, at the collector, in the API and at rest', async () => {
    const secretJwt = SECRETS.find((s) => s.kind === 'jwt')!.secret;
    const calls: [string, unknown][] = [
      ['core_start_run', start('proj', RUN, { summary: LEAK, meta_json: { note: LEAK, session_id: secretJwt, nested: { deep: [LEAK] } } })],
      [
        'core_report_usage',
        {
          run_id: RUN,
          token_usage: { input_tokens: 5, cost_usd: 0.01, prompt_preview: LEAK },
          traces: [
            { type: 'tool', tool: 'bash', status: 'error', error: LEAK, command: LEAK },
            { model: 'gpt-4o', input_tokens: 3, prompt: { text: LEAK } },
          ],
        },
      ],
      [
        'core_record_failure',
        { project_key: 'proj', run_id: RUN, agent_id: AGENT_ID, summary: LEAK, error: LEAK, context: { env: LEAK }, meta: { note: LEAK } },
      ],
      ['core_end_run', { run_id: RUN, status: 'failed', summary: LEAK, meta_json: { final: LEAK } }],
      ['record_run', { project_key: 'proj', agent: 'auditor', summary: LEAK, meta_json: { note: LEAK } }],
    ];
    let recordTrace = '';
    for (const [tool, args] of calls) {
      const r = await b.tool(tool, args);
      assert.equal(r.status, 200, `${tool}: ${JSON.stringify(r.body)}`);
      if (tool === 'record_run') recordTrace = r.body.result.trace_id as string;
    }
    const trace = RUN.replace(/-/g, '');
    await receiver.waitFor(
      () =>
        receiver.byTrace(trace).some((s) => s.name.startsWith('invoke_agent')) &&
        receiver.byTrace(trace).length >= 4 &&
        receiver.byTrace(recordTrace).length === 1,
      10_000,
      'the run and record_run spans',
    );
    const spans = [...receiver.byTrace(trace), ...receiver.byTrace(recordTrace)];
    const json = JSON.stringify(spans);
    for (const s of SECRETS) assert.ok(!json.includes(s.needle), `${s.kind} ${s.needle} reached the collector`);
    for (const kind of KINDS) assert.ok(json.includes(`[REDACTED:${kind}]`), `[REDACTED:${kind}] at the collector`);

    const expected = SECRETS.map((s) => `leaked ${redactedForm(s)} here`).join('; ');
    const root = spans.find((s) => s.name.startsWith('invoke_agent'))!;
    assert.equal(root.attributes['oprelay.run.summary'], expected);
    assert.equal(root.attributes['oprelay.run.end_summary'], expected);
    assert.equal(root.attributes['oprelay.meta.note'], expected);
    assert.equal(root.attributes['oprelay.meta.final'], expected);
    assert.equal(root.attributes['session.id'], '[REDACTED:jwt]');
    const failure = root.events.find((e) => e.name === 'exception')!;
    assert.equal(failure.attributes['exception.message'], expected);
    assert.equal(failure.attributes['exception.stacktrace'], expected);
    assert.equal(failure.attributes['exception.type'], 'failure', 'no secret becomes an error type');
    assert.equal(JSON.parse(String(failure.attributes['oprelay.failure.context'])).env, expected);
    const usage = root.events.find((e) => e.name === 'oprelay.usage.report')!;
    assert.equal(usage.attributes['oprelay.usage.prompt_preview'], expected);
    const tool = spans.find((s) => s.name === 'execute_tool bash')!;
    assert.equal(tool.attributes['oprelay.trace.error'], expected);
    assert.equal(tool.attributes['oprelay.trace.command'], expected);
    const record = receiver.byTrace(recordTrace)[0];
    assert.equal(record.attributes['oprelay.run.summary'], expected);

    const view = await b.get(`/v1/runs/${RUN}`);
    assert.equal(view.body.session_id, '[REDACTED:jwt]');
    for (const s of SECRETS) assert.ok(!view.text.includes(s.needle), `${s.kind} in GET /v1/runs/{id}`);
    const stored = storeBytes(b.dataDir);
    for (const s of SECRETS) assert.ok(!stored.includes(s.needle), `${s.kind} stored at rest`);
  });

  it('BRIDGE_CAPTURE_CONTENT=false drops prompt_preview and error text entirely', async () => {
    const calls: [string, unknown][] = [
      ['core_start_run', start('proj', BARE_RUN, { summary: 'start' })],
      [
        'core_report_usage',
        {
          run_id: BARE_RUN,
          token_usage: { input_tokens: 1, prompt_preview: 'PROMPT-MARKER-1' },
          traces: [{ tool: 'bash', status: 'error', error: 'ERROR-MARKER-2' }],
        },
      ],
      [
        'core_record_failure',
        { project_key: 'proj', run_id: BARE_RUN, agent_id: AGENT_ID, summary: 'disk full', error: 'OSError: ERROR-MARKER-3' },
      ],
      ['core_end_run', { run_id: BARE_RUN, status: 'failed' }],
    ];
    for (const [tool, args] of calls) assert.equal((await bare.tool(tool, args)).status, 200, tool);
    const trace = BARE_RUN.replace(/-/g, '');
    await receiver.waitFor(
      () => receiver.byTrace(trace).some((s) => s.name.startsWith('invoke_agent')) && receiver.byTrace(trace).length >= 3,
      10_000,
      'the bare run',
    );
    const spans = receiver.byTrace(trace);
    const json = JSON.stringify(spans);
    for (const marker of ['PROMPT-MARKER-1', 'ERROR-MARKER-2', 'ERROR-MARKER-3'])
      assert.ok(!json.includes(marker), `${marker} left the bridge`);
    const root = spans.find((s) => s.name.startsWith('invoke_agent'))!;
    const failure = root.events.find((e) => e.name === 'exception')!;
    assert.equal(failure.attributes['exception.message'], 'disk full', 'summaries are still sent');
    assert.equal(failure.attributes['exception.type'], 'OSError', 'the error type is not content');
    assert.ok(!('exception.stacktrace' in failure.attributes));
    const usage = root.events.find((e) => e.name === 'oprelay.usage.report')!;
    assert.ok(!('oprelay.usage.prompt_preview' in usage.attributes));
    assert.ok(!('oprelay.trace.error' in spans.find((s) => s.name === 'execute_tool bash')!.attributes));
    for (const marker of ['PROMPT-MARKER-1', 'ERROR-MARKER-2', 'ERROR-MARKER-3'])
      assert.ok(!storeBytes(bare.dataDir).includes(marker), `${marker} stored`);
  });
});

function redactedForm(s: { kind: string; secret: string }): string {
  if (s.kind === 'bearer') return 'Authorization: [REDACTED:bearer]';
  if (s.kind === 'url_password') return 'postgres://admin:[REDACTED:url_password]@db.internal:5432/app';
  return `[REDACTED:${s.kind}]`;
}

describe('limits under hostile input', () => {
  let b: BridgeProcess;
  let limited: BridgeProcess;
  before(async () => {
    b = await BridgeProcess.start({ BRIDGE_API_KEYS: ENV_KEYS });
    limited = await BridgeProcess.start({ BRIDGE_API_KEYS: ENV_KEYS, BRIDGE_RATE_LIMIT: '5' });
  });
  after(async () => {
    await b?.dispose();
    await limited?.dispose();
  });
  const A = bearer(KEY_A);
  const post = (body: string, tool = 'core_start_run') =>
    fetch(`${b.url}/v1/tools/${tool}`, { method: 'POST', headers: { 'content-type': 'application/json', ...A }, body });

  it('rate limit per key: a burst of 20 gets 429 rate_limited with Retry-After; another key is unaffected', async () => {
    const burst = await Promise.all(
      Array.from({ length: 20 }, () =>
        fetch(`${limited.url}/v1/tools/record_run`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...A },
          body: JSON.stringify({ project_key: 'proj-a', agent: 'a', summary: 's' }),
        }),
      ),
    );
    const limitedOnes = burst.filter((r) => r.status === 429);
    assert.ok(limitedOnes.length >= 10, `429s: ${limitedOnes.length}`);
    assert.ok(burst.filter((r) => r.status === 200).length >= 5, 'the first five pass');
    assert.deepEqual(new Set(burst.map((r) => r.status)), new Set([200, 429]));
    for (const r of limitedOnes) {
      assert.ok(Number(r.headers.get('retry-after')) >= 1);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'rate_limited');
    }
    const other = await limited.tool('record_run', { project_key: 'proj-b', agent: 'a', summary: 's' }, bearer(KEY_B));
    assert.equal(other.status, 200);
  });

  it('body over 1 MiB → 413 payload_too_large', async () => {
    const r = await post(JSON.stringify(start('proj-a', undefined, { summary: 'x'.repeat(1024 * 1024 + 10) })));
    assert.equal(r.status, 413);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'payload_too_large');
  });

  it('JSON nested 100,000 levels deep → 400 wherever it is, and the bridge keeps serving', async () => {
    const deepArray = `${'['.repeat(100_000)}1${']'.repeat(100_000)}`;
    const deepObject = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    const bodies: [string, string][] = [
      ['core_start_run', deepArray],
      ['core_start_run', `{"project_key":"proj-a","agent_id":"${AGENT_ID}","meta_json":${deepObject}}`],
      ['core_report_usage', `{"run_id":"${UNKNOWN}","token_usage":${deepObject}}`],
      ['core_report_usage', `{"run_id":"${UNKNOWN}","token_usage":{},"traces":[{"x":${deepArray}}]}`],
      [
        'core_record_failure',
        `{"project_key":"proj-a","run_id":"${UNKNOWN}","agent_id":"${AGENT_ID}","summary":"s","context":{"c":${deepArray}}}`,
      ],
    ];
    for (const [tool, body] of bodies) {
      const r = await post(body, tool);
      const answer = (await r.json()) as { error: { code: string } };
      assert.equal(r.status, 400, `${tool}: ${JSON.stringify(answer)}`);
      assert.equal(answer.error.code, 'invalid_argument');
    }
    assert.equal((await b.get('/healthz')).status, 200);
    assert.equal((await b.tool('core_start_run', start('proj-a'), A)).status, 200);
    assert.equal((await b.get(`/v1/runs/${UNKNOWN}`, bearer(KEY_ALL))).status, 404, 'no refused call created the run');
  });

  it('headers over 16 KiB → 431', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${b.url}/healthz`, { headers: { 'x-filler': 'a'.repeat(20 * 1024) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 431);
  });

  it('a client sending headers slowly is answered 408 and disconnected after headersTimeout (10 s)', async () => {
    const port = Number(new URL(b.url).port);
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString()));
    socket.write('POST /v1/tools/core_start_run HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const drip = setInterval(() => socket.writable && socket.write('X-Drip: a\r\n'), 500);
    const startedAt = Date.now();
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('still connected after 15 s')), 15_000);
        socket.on('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    } finally {
      clearInterval(drip);
      socket.destroy();
    }
    assert.match(received, /^HTTP\/1\.1 408 /);
    assert.ok(Date.now() - startedAt >= 5_000, 'not cut before the headers timeout');
    assert.equal((await b.get('/healthz')).status, 200);
  });
});
