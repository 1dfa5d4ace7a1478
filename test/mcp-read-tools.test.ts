import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { BridgeProcess } from './support/bridge-process.js';

// The read tools over MCP (official TypeScript SDK client) and GET /v1/usage: exact sums of the runs
// sent, isolation between projects, paging, and bad arguments answered with HTTP's error codes.

const WRITER = 'writer-key-123';
const READER_A = 'reader-a-1234';
const READER_B = 'reader-b-1234';
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const TRACE_URL = 'http://jaeger.test/trace/{trace_id}';

interface Sent {
  run_id: string;
  project: string;
  agent: string;
  model: string;
  input: number;
  output: number;
  cost: number;
  failed: boolean;
  parent?: string;
}

/** The runs sent: costs are multiples of 1/8, so sums compare exactly. */
function plan(): Omit<Sent, 'run_id'>[] {
  const runs: Omit<Sent, 'run_id'>[] = [];
  for (let i = 1; i <= 5; i++)
    runs.push({
      project: 'proj-a',
      agent: 'deployer',
      model: 'claude-opus-4',
      input: 1000 * i,
      output: 100 * i,
      cost: 0.125 * i,
      failed: i === 3,
    });
  for (let i = 0; i < 2; i++)
    runs.push({ project: 'proj-a', agent: 'reviewer', model: 'gpt-4o', input: 500, output: 50, cost: 0.5, failed: false });
  for (let i = 0; i < 3; i++)
    runs.push({ project: 'proj-b', agent: 'deployer', model: 'claude-opus-4', input: 7, output: 3, cost: 1, failed: false });
  return runs;
}

async function connect(b: BridgeProcess, key: string): Promise<Client> {
  const client = new Client({ name: 'sre-agent', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${b.url}/mcp`), { requestInit: { headers: bearer(key) } }));
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

/** A successful call's structured answer (the SDK client checked it against the tool's outputSchema). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read answers field by field
async function answer<T = any>(client: Client, name: string, args: Record<string, unknown> = {}): Promise<T> {
  const r = await call(client, name, args);
  assert.notEqual(r.isError, true, `${name}: ${JSON.stringify(r.content)}`);
  return r.structuredContent as T;
}

/** An isError call's `{error: {code, message}}`. */
async function refusal(client: Client, name: string, args: Record<string, unknown>): Promise<{ code: string; message: string }> {
  const r = await call(client, name, args);
  assert.equal(r.isError, true, `${name} should fail: ${JSON.stringify(r.content)}`);
  const block = r.content[0];
  return (JSON.parse(block?.type === 'text' ? block.text : '{}') as { error: { code: string; message: string } }).error;
}

function sums(runs: Sent[]) {
  return {
    runs: runs.length,
    failed_runs: runs.filter((r) => r.failed).length,
    failures: runs.filter((r) => r.failed).length,
    input_tokens: runs.reduce((n, r) => n + r.input, 0),
    output_tokens: runs.reduce((n, r) => n + r.output, 0),
    total_tokens: runs.reduce((n, r) => n + r.input + r.output, 0),
    cost_usd: runs.reduce((n, r) => n + r.cost, 0),
    llm_calls: runs.length,
  };
}

describe('read tools over MCP and GET /v1/usage', () => {
  let b: BridgeProcess;
  let writer: Client;
  let readerA: Client;
  let readerB: Client;
  const sent: Sent[] = [];

  before(async () => {
    b = await BridgeProcess.start({
      BRIDGE_API_KEYS: `${WRITER}=*; ${READER_A}=read:proj-a; ${READER_B}=read:proj-b`,
      BRIDGE_TRACE_URL: TRACE_URL,
    });
    const tool = async (name: string, args: object) => {
      const r = await b.tool(name, args, bearer(WRITER));
      assert.equal(r.status, 200, `${name}: ${JSON.stringify(r.body)}`);
      return r.body.result;
    };
    for (const p of plan()) {
      const run_id = randomUUID();
      const agent_id = randomUUID();
      await tool('core_start_run', { project_key: p.project, agent_id, run_id, meta_json: { agent_name: p.agent } });
      await tool('core_report_usage', {
        run_id,
        token_usage: { input_tokens: p.input, output_tokens: p.output, cost_usd: p.cost, model: p.model, llm_calls: 1 },
      });
      if (p.failed)
        await tool('core_record_failure', {
          project_key: p.project,
          run_id,
          agent_id,
          summary: 'kubectl apply timed out',
          error: 'TimeoutError: deadline of 30s exceeded applying deploy/rate-limiter',
        });
      await tool('core_end_run', { run_id, status: p.failed ? 'failed' : 'completed', summary: 'done' });
      sent.push({ ...p, run_id });
    }
    // a sub-agent run of the first deployer run
    const parent = sent[0]!.run_id;
    const child = randomUUID();
    await tool('core_start_run', {
      project_key: 'proj-a',
      agent_id: randomUUID(),
      run_id: child,
      meta_json: { agent_name: 'tester', parent_run_id: parent },
    });
    await tool('core_report_usage', {
      run_id: child,
      token_usage: { input_tokens: 40, output_tokens: 2, cost_usd: 0.25, model: 'gpt-4o', llm_calls: 1 },
    });
    sent.push({
      run_id: child,
      project: 'proj-a',
      agent: 'tester',
      model: 'gpt-4o',
      input: 40,
      output: 2,
      cost: 0.25,
      failed: false,
      parent,
    });
    [writer, readerA, readerB] = await Promise.all([connect(b, WRITER), connect(b, READER_A), connect(b, READER_B)]);
  });

  after(async () => {
    for (const c of [writer, readerA, readerB]) await c?.close();
    await b?.dispose();
  });

  it("usage_summary sums exactly the runs sent, per agent, model and project, within the key's projects", async () => {
    const a = sent.filter((r) => r.project === 'proj-a');
    const byAgent = await answer(readerA, 'usage_summary', { group_by: 'agent' });
    assert.deepEqual(
      byAgent.groups,
      ['deployer', 'reviewer', 'tester']
        .map((agent) => ({ key: agent, ...sums(a.filter((r) => r.agent === agent)) }))
        .sort((x, y) => y.cost_usd - x.cost_usd),
    );
    assert.deepEqual(byAgent.totals, sums(a));
    const byModel = await answer(readerA, 'usage_summary', { group_by: 'model', since: '1h' });
    assert.deepEqual(
      new Map(byModel.groups.map((g: { key: string }) => [g.key, g])),
      new Map(['claude-opus-4', 'gpt-4o'].map((m) => [m, { key: m, ...sums(a.filter((r) => r.model === m)) }])),
    );
    const all = await answer(writer, 'usage_summary', {});
    assert.deepEqual(all.groups, [
      { key: 'proj-a', ...sums(a) },
      { key: 'proj-b', ...sums(sent.filter((r) => r.project === 'proj-b')) },
    ]);
    const onlyB = await answer(readerB, 'usage_summary', { group_by: 'project' });
    assert.deepEqual(
      onlyB.groups.map((g: { key: string }) => g.key),
      ['proj-b'],
    );
    // another project's name returns nothing, not its numbers
    assert.deepEqual((await answer(readerA, 'usage_summary', { project_key: 'proj-b' })).groups, []);
  });

  it('GET /v1/usage answers what usage_summary answers', async () => {
    const http = await b.get('/v1/usage?group_by=agent&agent=deployer', bearer(READER_A));
    assert.equal(http.status, 200);
    const mcp = await answer(readerA, 'usage_summary', { group_by: 'agent', agent: 'deployer' });
    assert.deepEqual(http.body, mcp);
    assert.deepEqual(http.body.totals, sums(sent.filter((r) => r.project === 'proj-a' && r.agent === 'deployer')));
  });

  it("list_runs pages through the key's runs without gaps or duplicates", async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    const sizes: number[] = [];
    do {
      const page = await answer(readerA, 'list_runs', { limit: 3, ...(cursor ? { cursor } : {}) });
      sizes.push(page.runs.length);
      for (const run of page.runs) {
        assert.equal(run.project_key, 'proj-a');
        seen.push(run.run_id);
      }
      cursor = page.next_cursor ?? undefined;
    } while (cursor && sizes.length < 10);
    assert.deepEqual(sizes, [3, 3, 2]);
    assert.deepEqual(
      seen.sort(),
      sent
        .filter((r) => r.project === 'proj-a')
        .map((r) => r.run_id)
        .sort(),
    );
    const failed = await answer(readerA, 'list_runs', { status: 'failed', agent: 'deployer' });
    assert.deepEqual(
      failed.runs.map((r: { run_id: string }) => r.run_id),
      [sent[2]!.run_id],
    );
    assert.equal(failed.runs[0].agent, 'deployer');
    assert.deepEqual((await answer(readerB, 'list_runs', { project_key: 'proj-a' })).runs, []);
  });

  it('get_run answers failures with their reasons, child runs, usage reports and the trace link', async () => {
    const failed = await answer(readerA, 'get_run', { run_id: sent[2]!.run_id });
    assert.equal(failed.status, 'failed');
    assert.equal(failed.trace_url, TRACE_URL.replace('{trace_id}', failed.trace_id));
    assert.equal(failed.failure_log.length, 1);
    assert.equal(failed.failure_log[0].error_type, 'TimeoutError');
    assert.equal(failed.failure_log[0].summary, 'kubectl apply timed out');
    assert.equal(failed.usage_reports.length, 1);
    assert.deepEqual(failed.totals, { input_tokens: 3000, output_tokens: 300, total_tokens: 3300, cost_usd: 0.375, llm_calls: 1 });
    const parent = await answer(readerA, 'get_run', { run_id: sent[0]!.run_id });
    assert.deepEqual(
      parent.children.map((c: { run_id: string; agent: string }) => [c.run_id, c.agent]),
      [[sent.at(-1)!.run_id, 'tester']],
    );
    assert.equal(parent.totals_with_children.cost_usd, 0.125 + 0.25);
    const other = await refusal(readerB, 'get_run', { run_id: sent[0]!.run_id });
    assert.equal(other.code, 'run_not_found');
    assert.equal((await b.get(`/v1/runs/${sent[0]!.run_id}`, bearer(READER_B))).body.error.code, 'run_not_found');
  });

  it("recent_failures lists the key's failures with run, agent and type", async () => {
    const { failures } = await answer(readerA, 'recent_failures', { since: '1h' });
    assert.equal(failures.length, 1);
    assert.equal(failures[0].run_id, sent[2]!.run_id);
    assert.equal(failures[0].agent, 'deployer');
    assert.equal(failures[0].error_type, 'TimeoutError');
    assert.deepEqual((await answer(readerB, 'recent_failures', {})).failures, []);
  });

  it('bad arguments are isError results with the codes and messages of HTTP', async () => {
    const badGroup = await refusal(readerA, 'usage_summary', { group_by: 'team' });
    const http = await b.get('/v1/usage?group_by=team', bearer(READER_A));
    assert.equal(http.status, 400);
    assert.deepEqual(badGroup, { code: http.body.error.code, message: http.body.error.message, details: http.body.error.details });
    assert.equal(badGroup.code, 'invalid_argument');
    assert.match((await refusal(readerA, 'list_runs', { limit: 0 })).message, /limit: must be at least 1/);
    assert.match((await refusal(readerA, 'list_runs', { limit: 101 })).message, /limit: must be at most 100/);
    assert.match((await refusal(readerA, 'list_runs', { cursor: 'nope' })).message, /cursor: is not a cursor this API returned/);
    assert.match((await refusal(readerA, 'get_run', { run_id: 'run-1' })).message, /run_id: must be a UUID/);
    assert.match((await refusal(readerA, 'recent_failures', { since: 'yesterday' })).message, /since: must be an ISO 8601 date-time/);
    // a bare number could be epoch milliseconds or a duration: neither is guessed
    assert.equal((await refusal(readerA, 'usage_summary', { since: '1767225600000' })).code, 'invalid_argument');
    assert.match((await refusal(readerA, 'usage_summary', { since: '1h', until: '2h' })).message, /until: must be later than since/);
    assert.match((await refusal(readerA, 'usage_summary', { projekt: 'x' })).message, /projekt: unknown field/);
    assert.equal((await refusal(readerA, 'core_start_run', { project_key: 'proj-a', agent_id: randomUUID() })).code, 'forbidden');
  });
});
