import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AGENT_ID, BridgeProcess } from './support/bridge-process.js';

// GET /v1/runs (docs/architecture.md#runs-api-and-live-page): filters, cursor pagination, sort by start time or cost, key scoping.

const KEY_A = { authorization: 'Bearer key-a-123456' };
const KEY_ALL = { authorization: 'Bearer key-all-123456' };
const KEY_AC = { authorization: 'Bearer key-ac-123456' };
const OTHER_AGENT = '0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d';

interface Made {
  run_id: string;
  project: string;
  agent: string;
  cost: number;
  status: 'running' | 'completed' | 'failed';
}

interface RunBody {
  run_id: string;
  project_key: string;
  agent_id: string;
  status: string;
  started_at: string;
  totals: { cost_usd: number };
}

let bridge: BridgeProcess;
const made: Made[] = [];
let secondGroupSince = '';

async function makeRun(project: string, agent: string, cost: number, status: Made['status']): Promise<void> {
  const start = await bridge.tool('core_start_run', { project_key: project, agent_id: agent }, KEY_ALL);
  assert.equal(start.status, 200, JSON.stringify(start.body));
  const runId: string = start.body.result.run_id;
  const usage = await bridge.tool(
    'core_report_usage',
    { run_id: runId, token_usage: { input_tokens: 100, output_tokens: 10, cost_usd: cost } },
    KEY_ALL,
  );
  assert.equal(usage.status, 200, JSON.stringify(usage.body));
  if (status !== 'running') {
    const end = await bridge.tool('core_end_run', { run_id: runId, status }, KEY_ALL);
    assert.equal(end.status, 200, JSON.stringify(end.body));
  }
  made.push({ run_id: runId, project, agent, cost, status });
}

async function list(query: string, headers = KEY_ALL): Promise<{ runs: RunBody[]; next_cursor: string | null }> {
  const r = await bridge.get(`/v1/runs?${query}`, headers);
  assert.equal(r.status, 200, r.text);
  return r.body;
}

/** Follows next_cursor to the end; returns every page's runs in order. */
async function walk(query: string, headers = KEY_ALL): Promise<{ runs: RunBody[]; pages: number }> {
  const runs: RunBody[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page = await list(`${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, headers);
    runs.push(...page.runs);
    cursor = page.next_cursor;
    pages++;
    assert.ok(pages <= 50, 'pagination ends');
  } while (cursor);
  return { runs, pages };
}

const ids = (runs: { run_id: string }[]) => runs.map((r) => r.run_id).sort();

before(async () => {
  bridge = await BridgeProcess.start({ BRIDGE_API_KEYS: 'key-a-123456=proj-a;key-ac-123456=proj-a,proj-c;key-all-123456=*' });
  const costs = [0.25, 1.5, 0.05, 3.2, 0.8, 0.01, 2.4, 0.6, 1.1, 0.3, 4.75, 0.02];
  for (let i = 0; i < 7; i++)
    await makeRun('proj-a', i % 3 === 0 ? OTHER_AGENT : AGENT_ID, costs[i], i === 2 ? 'failed' : i === 4 ? 'running' : 'completed');
  await new Promise((r) => setTimeout(r, 20));
  secondGroupSince = new Date().toISOString();
  await new Promise((r) => setTimeout(r, 5));
  for (let i = 7; i < 12; i++) await makeRun('proj-b', AGENT_ID, costs[i], i === 9 ? 'failed' : 'completed');
});

after(async () => {
  await bridge?.dispose();
});

describe('GET /v1/runs', () => {
  test('pages through every run by start time, newest first, without duplicates', async () => {
    const { runs, pages } = await walk('limit=5');
    assert.equal(pages, 3);
    assert.equal(runs.length, 12);
    assert.equal(new Set(runs.map((r) => r.run_id)).size, 12, 'no run appears twice');
    assert.deepEqual(ids(runs), ids(made));
    for (let i = 1; i < runs.length; i++) {
      const [prev, cur] = [runs[i - 1], runs[i]];
      assert.ok(
        prev.started_at > cur.started_at || (prev.started_at === cur.started_at && prev.run_id > cur.run_id),
        'newest first, ties by run_id',
      );
    }
    assert.equal(runs[runs.length - 1].started_at, runs.map((r) => r.started_at).sort()[0], 'the oldest run comes last');
  });

  test('sort=cost pages from the most expensive run down', async () => {
    const { runs, pages } = await walk('sort=cost&limit=4');
    assert.equal(pages, 3);
    assert.deepEqual(
      runs.map((r) => r.totals.cost_usd),
      made.map((m) => m.cost).sort((a, b) => b - a),
    );
    assert.equal(new Set(runs.map((r) => r.run_id)).size, 12);
  });

  test('filters by project, status, agent, since and min_cost', async () => {
    assert.deepEqual(ids((await list('project_key=proj-b')).runs), ids(made.filter((m) => m.project === 'proj-b')));
    assert.deepEqual(ids((await list('status=failed')).runs), ids(made.filter((m) => m.status === 'failed')));
    assert.deepEqual(ids((await list('status=running')).runs), ids(made.filter((m) => m.status === 'running')));
    assert.deepEqual(ids((await list(`agent_id=${OTHER_AGENT}`)).runs), ids(made.filter((m) => m.agent === OTHER_AGENT)));
    assert.deepEqual(ids((await list(`since=${encodeURIComponent(secondGroupSince)}`)).runs), ids(made.slice(7)));
    assert.deepEqual(ids((await list('min_cost=1.1')).runs), ids(made.filter((m) => m.cost >= 1.1)));
    const combined = await list('project_key=proj-a&status=completed&min_cost=0.2&sort=cost');
    assert.deepEqual(
      combined.runs.map((r) => r.totals.cost_usd),
      [3.2, 2.4, 1.5, 0.25],
    );
    assert.equal((await list('since=2999-01-01T00:00:00Z')).runs.length, 0);
  });

  test('each run has the shape of GET /v1/runs/{id}', async () => {
    const { runs } = await list('limit=1');
    const one = await bridge.get(`/v1/runs/${runs[0].run_id}`, KEY_ALL);
    assert.equal(one.status, 200);
    for (const field of [
      'run_id',
      'project_key',
      'agent_id',
      'status',
      'started_at',
      'ended_at',
      'totals',
      'models',
      'failures',
      'trace_id',
    ])
      assert.deepEqual((runs[0] as unknown as Record<string, unknown>)[field], one.body[field], field);
  });

  test("a key scoped to proj-a sees only proj-a's runs", async () => {
    const { runs } = await walk('limit=3', KEY_A);
    assert.deepEqual(ids(runs), ids(made.filter((m) => m.project === 'proj-a')));
    assert.equal((await list('project_key=proj-b', KEY_A)).runs.length, 0);
    assert.deepEqual(ids((await list('sort=cost&limit=500', KEY_A)).runs), ids(made.filter((m) => m.project === 'proj-a')));
    const hidden = made.find((m) => m.project === 'proj-b')!;
    assert.equal((await bridge.get(`/v1/runs/${hidden.run_id}`, KEY_A)).status, 404);
  });

  test('no key or an unknown key is 401', async () => {
    assert.equal((await bridge.get('/v1/runs')).status, 401);
    assert.equal((await bridge.get('/v1/runs', { authorization: 'Bearer nope-nope-nope' })).status, 401);
  });

  test('bad query parameters are 400 naming the parameter', async () => {
    const cases: [string, string][] = [
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['limit=abc', 'limit'],
      ['sort=newest', 'sort'],
      ['status=done', 'status'],
      ['agent_id=not-a-uuid', 'agent_id'],
      ['since=yesterday', 'since'],
      ['min_cost=-1', 'min_cost'],
      ['cursor=garbage', 'cursor'],
      [`project_key=${'x'.repeat(129)}`, 'project_key'],
    ];
    for (const [query, param] of cases) {
      const r = await bridge.get(`/v1/runs?${query}`, KEY_ALL);
      assert.equal(r.status, 400, `${query} → ${r.text}`);
      assert.equal(r.body.error.code, 'invalid_argument');
      assert.ok(
        r.body.error.details.some((d: { path: string }) => d.path === param),
        `${query}: details name ${param}: ${JSON.stringify(r.body.error.details)}`,
      );
      assert.match(r.body.error.message, new RegExp(param));
    }
    // the tools' wording for a value outside a set, not the validator's own
    const status = await bridge.get('/v1/runs?status=bogus', KEY_ALL);
    assert.equal(status.body.error.message, 'invalid argument: status: must be one of running, completed, failed, interrupted');
    const sort = await bridge.get('/v1/runs?sort=newest', KEY_ALL);
    assert.equal(sort.body.error.message, 'invalid argument: sort: must be one of started_at, cost');
    const blank = await bridge.get('/v1/runs?project_key=%20%20', KEY_ALL);
    assert.equal(blank.status, 400, blank.text);
    assert.equal(blank.body.error.message, 'invalid argument: project_key: must not be only spaces');
    const unknown = await bridge.get('/v1/runs?projekt=proj-a', KEY_ALL);
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.error.message, /projekt/);
  });

  test('a key scoped to two projects pages through both, merged in order, in either sort', async () => {
    for (const cost of [0.9, 0.07, 2.2]) await makeRun('proj-c', AGENT_ID, cost, 'completed');
    const visible = made.filter((m) => m.project !== 'proj-b');
    const byStart = await walk('limit=2', KEY_AC);
    assert.equal(byStart.runs.length, visible.length);
    assert.deepEqual(ids(byStart.runs), ids(visible));
    for (let i = 1; i < byStart.runs.length; i++) {
      const [prev, cur] = [byStart.runs[i - 1], byStart.runs[i]];
      assert.ok(
        prev.started_at > cur.started_at || (prev.started_at === cur.started_at && prev.run_id > cur.run_id),
        'newest first across both projects',
      );
    }
    const byCost = await walk('sort=cost&limit=3', KEY_AC);
    assert.deepEqual(
      byCost.runs.map((r) => r.totals.cost_usd),
      visible.map((m) => m.cost).sort((a, b) => b - a),
    );
    assert.equal(new Set(byCost.runs.map((r) => r.run_id)).size, visible.length);
    assert.deepEqual(ids((await list('status=failed', KEY_AC)).runs), ids(visible.filter((m) => m.status === 'failed')));
    assert.deepEqual(ids((await list('project_key=proj-c', KEY_AC)).runs), ids(made.filter((m) => m.project === 'proj-c')));
  });
});
