import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { AGENT_ID, BridgeProcess, TASK_ID } from './support/bridge-process.js';

type Call = (name: string, args: Record<string, unknown>) => Promise<Record<string, unknown>>;

async function connect(bridge: BridgeProcess, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'mcp-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${bridge.url}/mcp`), { requestInit: { headers } }));
  return client;
}

function textOf(result: CallToolResult): unknown {
  assert.equal(result.content.length, 1);
  const block = result.content[0];
  assert.equal(block.type, 'text');
  return JSON.parse(block.type === 'text' ? block.text : '');
}

async function callTool(client: Client, name: string, args: Record<string, unknown>, meta?: Record<string, unknown>) {
  return (await client.callTool({ name, arguments: args, ...(meta ? { _meta: meta } : {}) })) as CallToolResult;
}

/** The seed's whole flow, run through whichever surface `call` speaks. */
async function seedFlow(call: Call, project: string): Promise<string> {
  const { run_id } = (await call('core_start_run', {
    project_key: project,
    agent_id: AGENT_ID,
    summary: 'Deploying rate limiter to staging',
  })) as {
    run_id: string;
  };
  await call('core_report_usage', {
    run_id,
    token_usage: { input_tokens: 8400, output_tokens: 1200, cost_usd: 0.028, model: 'claude-opus-4', llm_calls: 3 },
    traces: [
      {
        type: 'llm',
        model: 'claude-opus-4',
        input_tokens: 8400,
        output_tokens: 1200,
        started_at: '2025-01-01T00:00:00Z',
        ended_at: '2025-01-01T00:00:02Z',
      },
      { type: 'tool', tool: 'kubectl_apply', duration_ms: 800 },
    ],
  });
  await call('core_report_usage', {
    run_id,
    token_usage: { input_tokens: 1000, output_tokens: 500, cost_usd: 0.005, model: 'claude-opus-4', llm_calls: 1 },
  });
  await call('core_record_failure', {
    project_key: project,
    run_id,
    agent_id: AGENT_ID,
    task_id: TASK_ID,
    summary: 'Database connection timeout during migration',
    error: 'Error: connect ETIMEDOUT 10.0.0.5:5432',
    context: { migration: '0042_add_index', attempt: 2 },
  });
  await call('core_end_run', {
    run_id,
    status: 'completed',
    summary: 'Rate limiter deployed and verified in staging',
    token_usage: { input_tokens: 12400, output_tokens: 3200, cost_usd: 0.042, model: 'claude-opus-4', llm_calls: 7 },
  });
  await call('record_run', { project_key: project, agent: 'claude-opus', ticket: 'OPR-429', summary: 'Implemented project isolation.' });
  return run_id;
}

describe('MCP endpoint (open bridge)', () => {
  let bridge: BridgeProcess;
  let client: Client;

  before(async () => {
    bridge = await BridgeProcess.start();
    client = await connect(bridge);
  });
  after(async () => {
    await client?.close();
    await bridge?.dispose();
  });

  it('initializes and answers ping', async () => {
    assert.equal(client.getServerVersion()?.name, 'oprelay-bridge');
    assert.ok(client.getServerCapabilities()?.tools);
    assert.deepEqual(await client.ping(), {});
  });

  it('lists the five seed tools with the seed required fields and limits, and the four read tools', async () => {
    const { tools } = await client.listTools();
    const byName = new Map<string, Tool>(tools.map((t) => [t.name, t]));
    assert.deepEqual([...byName.keys()].sort(), [
      'core_end_run',
      'core_record_failure',
      'core_report_usage',
      'core_start_run',
      'get_run',
      'list_runs',
      'recent_failures',
      'record_run',
      'usage_summary',
    ]);
    type Props = Record<string, { maxLength?: number; maxItems?: number; enum?: string[]; description?: string }>;
    const props = (name: string) => byName.get(name)!.inputSchema.properties as Props;

    const start = byName.get('core_start_run')!;
    assert.equal(start.description, 'Begin an execution run. Returns a run_id used for all subsequent reporting.');
    assert.deepEqual(start.inputSchema.required, ['project_key', 'agent_id']);
    assert.equal(start.inputSchema.additionalProperties, false);
    assert.equal(props('core_start_run').summary.maxLength, 2000);
    assert.equal(props('core_start_run').summary.description, 'Intent or description (max 2000)');
    // what a model needs to fill the call in: agent_id is a UUID it may have to make up, usage is a delta
    assert.match(
      props('core_start_run').agent_id.description ?? '',
      /a UUID \(8-4-4-4-12 hex digits\).*generate a random UUID once and keep it/,
    );
    assert.match(props('core_report_usage').token_usage.description ?? '', /send only what is new since the last report/);
    assert.match(props('core_end_run').token_usage.description ?? '', /the run totals/);
    assert.deepEqual(start.outputSchema?.required, ['run_id', 'trace_id', 'traceparent']);

    assert.deepEqual(byName.get('core_report_usage')!.inputSchema.required, ['run_id', 'token_usage']);
    assert.equal(props('core_report_usage').traces.maxItems, 200);
    assert.deepEqual(byName.get('core_end_run')!.inputSchema.required, ['run_id', 'status']);
    assert.deepEqual(props('core_end_run').status.enum, ['completed', 'failed', 'interrupted']);
    assert.equal(props('core_end_run').traces.maxItems, 200);
    assert.deepEqual(byName.get('core_record_failure')!.inputSchema.required, ['project_key', 'run_id', 'agent_id', 'summary']);
    assert.equal(props('core_record_failure').error.maxLength, 8000);
    assert.deepEqual(byName.get('record_run')!.inputSchema.required, ['project_key', 'agent', 'summary']);
    assert.equal(props('record_run').agent.maxLength, 128);
    assert.equal(props('record_run').ticket.maxLength, 64);
    for (const t of tools) {
      assert.equal('$schema' in t.inputSchema, false, t.name);
      assert.equal(t.outputSchema?.type, 'object', t.name);
    }
  });

  it('runs the seed flow and stores the same totals as the same flow over HTTP', async () => {
    const viaMcp: Call = async (name, args) => {
      const r = await callTool(client, name, args);
      assert.equal(r.isError, undefined, JSON.stringify(r.content));
      assert.deepEqual(textOf(r), r.structuredContent);
      return r.structuredContent as Record<string, unknown>;
    };
    const viaHttp: Call = async (name, args) => {
      const r = await bridge.tool(name, args);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.result;
    };
    const mcpRun = (await bridge.get(`/v1/runs/${await seedFlow(viaMcp, 'mcp-flow')}`)).body;
    const httpRun = (await bridge.get(`/v1/runs/${await seedFlow(viaHttp, 'http-flow')}`)).body;
    const expected = { input_tokens: 12400, output_tokens: 3200, total_tokens: 15600, cost_usd: 0.042, llm_calls: 7 };
    assert.deepEqual(mcpRun.totals, expected);
    assert.deepEqual(httpRun.totals, expected);
    for (const run of [mcpRun, httpRun]) {
      assert.equal(run.status, 'completed');
      assert.equal(run.failures, 1);
      assert.deepEqual(run.models, ['claude-opus-4']);
    }
  });

  it('answers invalid arguments with isError naming the field, like HTTP, and keeps serving', async () => {
    const args = { project_key: 'mcp-invalid', agent_id: AGENT_ID, summary: 'x'.repeat(2001) };
    const bad = await callTool(client, 'core_start_run', args);
    assert.equal(bad.isError, true);
    assert.equal(bad.structuredContent, undefined);
    const body = textOf(bad) as { error: { code: string; message: string; details: { path: string; limit?: number }[] } };
    assert.equal(body.error.code, 'invalid_argument');
    assert.match(body.error.message, /summary: must be at most 2000 characters/);
    assert.deepEqual(
      body.error.details.map((d) => [d.path, d.limit]),
      [['summary', 2000]],
    );
    const overHttp = await bridge.tool('core_start_run', args);
    assert.equal(overHttp.status, 400);
    assert.deepEqual(overHttp.body, body);

    const ok = await callTool(client, 'core_start_run', { project_key: 'mcp-invalid', agent_id: AGENT_ID, summary: 'fine' });
    assert.equal(ok.isError, undefined);
    assert.match(String((ok.structuredContent as { run_id: string }).run_id), /^[0-9a-f-]{36}$/);
  });

  it('reports a misspelt field and an unknown tool as tool errors', async () => {
    const typo = await callTool(client, 'core_start_run', { project_key: 'p', agent_id: AGENT_ID, sumary: 'typo' });
    assert.equal(typo.isError, true);
    assert.deepEqual((textOf(typo) as { error: { details: unknown } }).error.details, [
      { path: 'sumary', message: 'sumary: unknown field' },
    ]);

    const unknown = await callTool(client, 'core_delete_run', {});
    assert.equal(unknown.isError, true);
    assert.deepEqual(textOf(unknown), { error: { code: 'unknown_tool', message: 'unknown tool "core_delete_run"' } });
  });

  it('joins the trace named by _meta.traceparent on core_start_run', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const runId = randomUUID();
    const r = await callTool(
      client,
      'core_start_run',
      { project_key: 'mcp-trace', agent_id: AGENT_ID, run_id: runId },
      { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    );
    assert.equal(r.isError, undefined);
    const result = r.structuredContent as { run_id: string; trace_id: string; traceparent: string };
    assert.equal(result.run_id, runId);
    assert.equal(result.trace_id, traceId);
    assert.match(result.traceparent, new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    assert.equal((await bridge.get(`/v1/runs/${runId}`)).body.trace_id, traceId);
  });

  it('answers GET and DELETE on /mcp with 405 and Allow: POST', async () => {
    for (const method of ['GET', 'DELETE']) {
      const r = await fetch(`${bridge.url}/mcp`, { method, headers: { accept: 'application/json, text/event-stream' } });
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.get('allow'), 'POST');
      const body = (await r.json()) as { jsonrpc: string; error: { code: number }; id: null };
      assert.equal(body.jsonrpc, '2.0');
      assert.equal(body.error.code, -32000);
      assert.equal(body.id, null);
    }
  });

  it('answers a malformed JSON-RPC body with a protocol error', async () => {
    const r = await fetch(`${bridge.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: '{not json',
    });
    assert.equal(r.status, 400);
    assert.equal(((await r.json()) as { error: { code: number } }).error.code, -32700);
  });
});

describe('MCP endpoint with API keys', () => {
  let bridge: BridgeProcess;
  let client: Client | undefined;

  before(async () => {
    bridge = await BridgeProcess.start({ BRIDGE_API_KEYS: 'key-a-123456=proj-a' });
  });
  after(async () => {
    await client?.close();
    await bridge?.dispose();
  });

  it('refuses a client without the Authorization header (401)', async () => {
    // the SDK's StreamableHTTPError carries the HTTP status as `code`
    const unauthorized = (err: unknown) => (err as { code?: unknown }).code === 401 && /"code":"unauthorized"/.test(String(err));
    await assert.rejects(connect(bridge), unauthorized);
    await assert.rejects(connect(bridge, { authorization: 'Bearer wrong-key-000' }), unauthorized);
  });

  it("scopes calls to the key's projects", async () => {
    client = await connect(bridge, { authorization: 'Bearer key-a-123456' });
    const denied = await callTool(client, 'core_start_run', { project_key: 'proj-b', agent_id: AGENT_ID });
    assert.equal(denied.isError, true);
    assert.deepEqual(textOf(denied), { error: { code: 'forbidden', message: 'this API key does not cover project "proj-b"' } });

    const allowed = await callTool(client, 'core_start_run', { project_key: 'proj-a', agent_id: AGENT_ID });
    assert.equal(allowed.isError, undefined);
    const runId = (allowed.structuredContent as { run_id: string }).run_id;
    const run = await bridge.get(`/v1/runs/${runId}`, { authorization: 'Bearer key-a-123456' });
    assert.equal(run.body.project_key, 'proj-a');
  });
});
