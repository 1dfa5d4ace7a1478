import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { AGENT_ID, BridgeProcess, CLI } from './support/bridge-process.js';

// Read-only API keys: they read runs and /metrics (what Prometheus holds) and make no tool call.

const run = promisify(execFile);
const WRITER = 'writer-key-123';
const PROM = 'prom-key-1234';
const READER_A = 'reader-a-1234';
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

const bridges: BridgeProcess[] = [];
after(async () => {
  for (const b of bridges) await b.dispose();
});

describe('BRIDGE_API_KEYS read-only entries', () => {
  test('a leading read: marks an entry read-only; other entries can write', () => {
    const c = loadConfig({ BRIDGE_API_KEYS: `${WRITER}=*; ${PROM}=read:* ; ${READER_A}=read:proj-a,proj-b` });
    assert.deepEqual(c.apiKeys, [
      { key: WRITER, projects: ['*'], readOnly: false },
      { key: PROM, projects: ['*'], readOnly: true },
      { key: READER_A, projects: ['proj-a', 'proj-b'], readOnly: true },
    ]);
  });

  test('read: without projects fails naming the variable', () => {
    assert.throws(
      () => loadConfig({ BRIDGE_API_KEYS: `${PROM}=read:` }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /BRIDGE_API_KEYS: expected KEY=\[read:\]PROJECT\[,PROJECT…\]/);
        return true;
      },
    );
  });
});

describe('a read-only key on a running bridge', () => {
  let b: BridgeProcess;
  let runId = '';

  before(async () => {
    b = await BridgeProcess.start({ BRIDGE_API_KEYS: `${WRITER}=*;${PROM}=read:*;${READER_A}=read:proj-a` });
    bridges.push(b);
    const start = await b.tool('core_start_run', { project_key: 'proj-a', agent_id: AGENT_ID }, bearer(WRITER));
    assert.equal(start.status, 200, JSON.stringify(start.body));
    runId = start.body.result.run_id;
  });

  test('scope * reads /metrics, which names every project', async () => {
    const m = await b.get('/metrics', bearer(PROM));
    assert.equal(m.status, 200);
    assert.match(m.text, /oprelay_runs_started_total\{oprelay_project_key="proj-a"[^}]*\} 1/);
  });

  test('reads runs: GET /v1/runs and GET /v1/runs/{id}', async () => {
    const list = await b.get('/v1/runs', bearer(PROM));
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.runs.map((r: { run_id: string }) => r.run_id),
      [runId],
    );
    const one = await b.get(`/v1/runs/${runId}`, bearer(READER_A));
    assert.equal(one.status, 200);
    assert.equal(one.body.status, 'running');
  });

  test('every tool call over HTTP is refused with 403 and changes nothing', async () => {
    const calls: [string, object][] = [
      ['core_start_run', { project_key: 'proj-a', agent_id: AGENT_ID }],
      ['core_report_usage', { run_id: runId, token_usage: { input_tokens: 5, cost_usd: 1 } }],
      ['core_end_run', { run_id: runId, status: 'completed' }],
      ['core_record_failure', { project_key: 'proj-a', run_id: runId, summary: 'x', error: 'y' }],
      ['record_run', { project_key: 'proj-a', agent: 'a', summary: 's' }],
    ];
    for (const key of [PROM, READER_A]) {
      for (const [tool, args] of calls) {
        const r = await b.tool(tool, args, bearer(key));
        assert.equal(r.status, 403, `${tool} with a read-only key`);
        assert.equal(r.body.error.code, 'forbidden');
        assert.match(r.body.error.message, /read-only API key/);
      }
    }
    const after = await b.get(`/v1/runs/${runId}`, bearer(WRITER));
    assert.equal(after.body.status, 'running');
    assert.equal(after.body.totals.cost_usd, 0);
    assert.equal((await b.get('/v1/runs', bearer(WRITER))).body.runs.length, 1);
  });

  test('over MCP too: only the read tools are listed, a write call is an isError forbidden result', async () => {
    const client = new Client({ name: 'read-only-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${b.url}/mcp`), { requestInit: { headers: bearer(PROM) } }));
    try {
      assert.deepEqual(
        (await client.listTools()).tools.map((t) => t.name),
        ['list_runs', 'get_run', 'usage_summary', 'recent_failures'],
      );
      const r = await client.callTool({ name: 'core_end_run', arguments: { run_id: runId, status: 'completed' } });
      assert.equal(r.isError, true);
      const text = (r.content as { type: string; text: string }[])[0]!.text;
      assert.equal((JSON.parse(text) as { error: { code: string } }).error.code, 'forbidden');
    } finally {
      await client.close();
    }
    assert.equal((await b.get(`/v1/runs/${runId}`, bearer(WRITER))).body.status, 'running');
  });

  test('a read-only key for some projects cannot read /metrics (it names every project)', async () => {
    const m = await b.get('/metrics', bearer(READER_A));
    assert.equal(m.status, 403);
    assert.equal(m.body.error.code, 'forbidden');
  });
});

describe('keys create --read-only', () => {
  test('creates a stored read-only key that reads /metrics and cannot call tools; keys list shows its scope', async () => {
    const b = await BridgeProcess.start({ BRIDGE_API_KEYS: `${WRITER}=*` });
    bridges.push(b);
    const env = { ...process.env, BRIDGE_DATA_DIR: b.dataDir };
    const created = await run(process.execPath, [CLI, 'keys', 'create', '--project', '*', '--read-only', '--label', 'prometheus'], { env });
    const out = JSON.parse(created.stdout) as { id: string; key: string; projects: string[]; scope: string };
    assert.deepEqual(out.projects, ['*']);
    assert.equal(out.scope, 'read');

    const listed = await run(process.execPath, [CLI, 'keys', 'list'], { env });
    const rows = listed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; scope: string });
    assert.equal(rows.find((r) => r.id === out.id)?.scope, 'read');

    // the bridge reloads stored keys within 2 s
    const deadline = Date.now() + 10_000;
    let metrics = await b.get('/metrics', bearer(out.key));
    while (metrics.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      metrics = await b.get('/metrics', bearer(out.key));
    }
    assert.equal(metrics.status, 200);
    const call = await b.tool('core_start_run', { project_key: 'p', agent_id: AGENT_ID }, bearer(out.key));
    assert.equal(call.status, 403);
    assert.equal(call.body.error.code, 'forbidden');
  });
});
