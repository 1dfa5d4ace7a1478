import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { HTTP_STATUS, type ErrorCode } from '../src/errors.js';
import { AGENT_ID, BridgeProcess } from './support/bridge-process.js';

/** JSON with object keys sorted at every level: two bodies with the same arguments in any order compare equal. */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(obj[k])}`)
    .join(',')}}`;
}

const TOOLS = ['core_start_run', 'core_report_usage', 'core_end_run', 'core_record_failure', 'record_run'] as const;
const RUN_IDS = ['1a1a1a1a-2b2b-4c3c-8d4d-5e5e5e5e5e01', '1a1a1a1a-2b2b-4c3c-8d4d-5e5e5e5e5e02', '1A1A1A1A-2B2B-4C3C-8D4D-5E5E5E5E5E03'];

const FIELDS: Record<(typeof TOOLS)[number], string[]> = {
  core_start_run: ['project_key', 'agent_id', 'run_id', 'summary', 'meta_json'],
  core_report_usage: ['run_id', 'token_usage', 'traces', 'idempotency_key'],
  core_end_run: ['run_id', 'status', 'summary', 'meta_json', 'token_usage', 'traces'],
  core_record_failure: ['project_key', 'run_id', 'agent_id', 'summary', 'task_id', 'error', 'context', 'meta'],
  record_run: ['project_key', 'agent', 'summary', 'ticket', 'meta_json'],
};

const VALID = (runId: string): Record<(typeof TOOLS)[number], Record<string, unknown>> => ({
  core_start_run: { project_key: 'fuzz', agent_id: AGENT_ID, run_id: runId, summary: 'fuzzing' },
  core_report_usage: { run_id: runId, token_usage: { input_tokens: 1, output_tokens: 1, cost_usd: 0.25 } },
  core_end_run: { run_id: runId, status: 'completed' },
  core_record_failure: { project_key: 'fuzz', run_id: runId, agent_id: AGENT_ID, summary: 'boom', error: 'Error: boom' },
  record_run: { project_key: 'fuzz', agent: 'fuzzer', summary: 'fuzzed' },
});

const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'];

/** Values an attacker or a buggy agent sends: wrong types, numbers as strings, huge and tiny things. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom('-1', 'NaN', 'Infinity', '-Infinity', '1e309', '0x10', '', ' ', 'null', 'true', '00000000-0000-0000-0000-000000000000'),
  fc.constantFrom(-1, -0.5, 0.5, 2 ** 53, Number.MAX_SAFE_INTEGER, Number.MAX_VALUE, -Number.MAX_VALUE, 1e-300),
  fc.integer({ min: 0, max: 20_000 }).map((n) => 'x'.repeat(n)),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.integer({ min: 0, max: 260 }).map((n) => Array.from({ length: n }, (_, i) => ({ name: `s${i}`, input_tokens: i }))),
  fc.integer({ min: 5, max: 40 }).map((depth) => {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = { d: v };
    return v;
  }),
  fc.constantFrom(...PROTO_KEYS).map((k) => JSON.parse(`{"${k}": {"polluted": true, "input_tokens": 1}}`) as unknown),
  fc.record(
    { input_tokens: fc.oneof(fc.integer(), fc.double()), output_tokens: fc.anything(), cost_usd: fc.double(), model: fc.string() },
    { requiredKeys: [] },
  ),
);

/** A valid call with some fields replaced by hostile values and some hostile keys added (own properties, prototype keys included). */
const mutatedCall = fc
  .record({
    tool: fc.constantFrom(...TOOLS),
    run: fc.constantFrom(...RUN_IDS),
    replace: fc.array(fc.tuple(fc.nat(), hostileValue), { maxLength: 3 }),
    add: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...PROTO_KEYS), fc.string({ maxLength: 20 })), hostileValue), { maxLength: 2 }),
    drop: fc.array(fc.nat(), { maxLength: 2 }),
  })
  .map(({ tool, run, replace, add, drop }) => {
    const entries = Object.entries(VALID(run)[tool]);
    const fields = FIELDS[tool];
    for (const [i, v] of replace) {
      const key = fields[i % fields.length];
      const at = entries.findIndex(([k]) => k === key);
      if (at >= 0) entries[at] = [key, v];
      else entries.push([key, v]);
    }
    for (const i of drop) entries.splice(i % Math.max(1, entries.length), 1);
    entries.push(...add);
    // fromEntries defines "__proto__" as an own property, so JSON.stringify sends it
    return { tool: tool as string, body: JSON.stringify(Object.fromEntries(entries)) };
  });

const rawCall = fc.record({
  tool: fc.oneof(
    fc.constantFrom(...TOOLS),
    fc.constantFrom('unknown_tool', '__proto__', 'constructor', '..%2F..%2Fmetrics', 'a'.repeat(300)),
  ),
  body: fc.oneof(
    fc.json({ maxDepth: 4 }),
    fc.anything({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null'),
    fc.constantFrom(
      '',
      '{',
      '[1,',
      '{"a":1}}',
      'null',
      '"str"',
      '1e999',
      '{"run_id":1e999}',
      `{"run_id":"${RUN_IDS[0]}","token_usage":{"input_tokens":1e999}}`,
    ),
    fc.string({ unit: 'binary', maxLength: 200 }),
  ),
});

const call = fc.record({
  c: fc.oneof({ arbitrary: mutatedCall, weight: 3 }, { arbitrary: rawCall, weight: 1 }),
  idem: fc.option(fc.stringMatching(/^[A-Za-z0-9-]{0,140}$/), { nil: undefined }),
});

interface Answer {
  status: number;
  body: { result?: Record<string, unknown>; error?: { code: string; message: string; details?: unknown } };
}

/** Posts one call and checks the answer is well-formed JSON with the error shape of docs/architecture.md#tools-and-results and a 2xx/4xx status. */
async function send(url: string, tool: string, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  const r = await fetch(`${url}/v1/tools/${tool}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await r.text();
  const where = `${r.status} for ${tool} ${body.slice(0, 300)} → ${text.slice(0, 300)}`;
  assert.ok(r.status < 500, where);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/, where);
  const parsed = JSON.parse(text) as Answer['body'];
  if (r.status < 300) {
    assert.equal(r.status, 200, where);
    assert.ok(parsed.result && typeof parsed.result === 'object' && !Array.isArray(parsed.result), where);
    assert.deepEqual(Object.keys(parsed), ['result'], where);
  } else {
    assert.deepEqual(Object.keys(parsed), ['error'], where);
    const e = parsed.error!;
    assert.equal(typeof e.code, 'string', where);
    assert.equal(HTTP_STATUS[e.code as ErrorCode], r.status, where);
    assert.equal(typeof e.message, 'string', where);
    assert.ok(e.message.length > 0, where);
    if (e.details !== undefined) {
      assert.ok(Array.isArray(e.details) && e.details.length > 0, where);
      for (const d of e.details as Record<string, unknown>[]) {
        assert.equal(typeof d.path, 'string', where);
        assert.equal(typeof d.message, 'string', where);
        if (d.limit !== undefined) assert.ok(typeof d.limit === 'number' || typeof d.limit === 'string', where);
      }
    }
  }
  return { status: r.status, body: parsed };
}

describe('fuzz: hostile JSON at every tool over HTTP', () => {
  let b: BridgeProcess;
  before(async () => {
    b = await BridgeProcess.start();
    for (const run of RUN_IDS.slice(0, 2)) assert.equal((await b.tool('core_start_run', VALID(run).core_start_run)).status, 200);
  });
  after(async () => b?.dispose());

  it('never crashes and always answers well-formed JSON 2xx/4xx with the documented error shape {error: {code, message, details?}} (250 calls)', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(call, async ({ c, idem }) => {
        const a = await send(b.url, c.tool, c.body, idem === undefined ? {} : { 'idempotency-key': idem });
        statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
      }),
      { numRuns: 250, seed: Number(process.env.FUZZ_SEED ?? 20261124), endOnFailure: true },
    );
    assert.ok(
      (statuses.get(200) ?? 0) > 0 && (statuses.get(400) ?? 0) > 0,
      `a mix of accepted and refused calls: ${JSON.stringify([...statuses])}`,
    );
    assert.equal(b.exitCode, null, 'the process is alive');
    assert.equal((await b.get('/healthz')).status, 200);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    const errors = b.logs.filter((l) => l.includes('"level":"error"') && l.includes('internal error'));
    assert.deepEqual(errors, [], 'no internal errors were logged');
  });
});

/** A usage report that the schema accepts, with the numbers it must add. */
interface Report {
  body: Record<string, unknown>;
  valid: boolean;
  adds: { input_tokens: number; output_tokens: number; total_tokens: number; cost_usd: number; llm_calls: number };
}

const ZERO = { input_tokens: 0, output_tokens: 0, total_tokens: 0, cost_usd: 0, llm_calls: 0 };

const validReport: fc.Arbitrary<Report> = fc
  .record(
    {
      input_tokens: fc.nat({ max: 1_000_000 }),
      output_tokens: fc.nat({ max: 1_000_000 }),
      total_tokens: fc.nat({ max: 3_000_000 }),
      // binary fractions add exactly, so the expected sum is exact too
      cost_usd: fc.nat({ max: 6_400 }).map((n) => n / 64),
      llm_calls: fc.nat({ max: 50 }),
      model: fc.constantFrom('claude-opus-4', 'gpt-4o'),
    },
    { requiredKeys: [] },
  )
  .map((u) => {
    const input = u.input_tokens ?? 0;
    const output = u.output_tokens ?? 0;
    return {
      body: { token_usage: u },
      valid: true,
      adds: {
        input_tokens: input,
        output_tokens: output,
        total_tokens: u.total_tokens ?? input + output,
        cost_usd: u.cost_usd ?? 0,
        llm_calls: u.llm_calls ?? 0,
      },
    };
  });

const invalidReport: fc.Arbitrary<Report> = fc
  .tuple(
    validReport,
    fc.oneof(
      fc.record({
        field: fc.constantFrom('input_tokens', 'output_tokens', 'total_tokens', 'llm_calls'),
        value: fc.oneof(
          fc.integer({ min: -1e9, max: -1 }),
          fc.constant(2 ** 53),
          fc.constant(1.5),
          fc.constantFrom('5', 'NaN', '-1', 'Infinity'),
          fc.constant(null),
        ),
      }),
      fc.record({
        field: fc.constant('cost_usd'),
        value: fc.oneof(fc.double({ max: -1e-9, noNaN: true }), fc.constantFrom('0.5', 'NaN', true, null)),
      }),
      fc.record({ field: fc.constantFrom('input_token', '__proto__', 'constructor', 'cost'), value: fc.nat() }),
      fc.record({ field: fc.constant('prompt_preview'), value: fc.integer({ min: 2001, max: 5000 }).map((n) => 'p'.repeat(n)) }),
      fc.record({ field: fc.constant('model'), value: fc.oneof(fc.constant(''), fc.constant('m'.repeat(129)), fc.nat()) }),
    ),
  )
  .map(([base, { field, value }]) => ({
    body: { token_usage: Object.fromEntries([...Object.entries(base.body.token_usage as object), [field, value]]) },
    valid: false,
    adds: ZERO,
  }));

const tooManyTraces: fc.Arbitrary<Report> = validReport.map((r) => ({
  body: { ...r.body, traces: Array.from({ length: 201 }, () => ({ name: 'step' })) },
  valid: false,
  adds: ZERO,
}));

describe('fuzz: totals equal the sum of accepted reports exactly', () => {
  let b: BridgeProcess;
  let runNo = 0;
  before(async () => {
    // no computed cost: a batch's cost is exactly what it reports
    b = await BridgeProcess.start({ BRIDGE_COST_INFERENCE: 'off' });
  });
  after(async () => b?.dispose());

  it('a run receiving valid, invalid and repeated core_report_usage calls (2 runs × up to 30 reports)', async () => {
    const reports = fc.array(
      fc.tuple(
        fc.oneof({ arbitrary: validReport, weight: 3 }, { arbitrary: invalidReport, weight: 2 }, { arbitrary: tooManyTraces, weight: 1 }),
        fc.option(fc.constantFrom('k1', 'k2', 'k3'), { nil: undefined }),
      ),
      { minLength: 10, maxLength: 30 },
    );
    await fc.assert(
      fc.asyncProperty(reports, async (list) => {
        const runId = `2b2b2b2b-3c3c-4d4d-8e8e-${String(++runNo).padStart(12, '0')}`;
        assert.equal((await b.tool('core_start_run', { project_key: 'fuzz', agent_id: AGENT_ID, run_id: runId })).status, 200);
        const expected = { ...ZERO };
        /** the body each idempotency key was first accepted with (keys sorted: the same arguments in any order) */
        const seenKeys = new Map<string, string>();
        for (const [report, key] of list) {
          const body = { run_id: runId, ...report.body, ...(key ? { idempotency_key: key } : {}) };
          const a = await send(b.url, 'core_report_usage', JSON.stringify(body));
          const first = key === undefined ? undefined : seenKeys.get(key);
          const repeat = report.valid && first !== undefined;
          const reused = repeat && first !== canonical(body);
          assert.equal(a.status, !report.valid ? 400 : reused ? 422 : 200, JSON.stringify({ body, answer: a.body }));
          if (!report.valid) {
            assert.equal(a.body.error?.code, 'invalid_argument');
            continue;
          }
          if (reused) {
            assert.equal(a.body.error?.code, 'idempotency_key_reused', 'a key reused with other arguments is refused');
            continue;
          }
          assert.equal(a.body.result?.duplicate, repeat ? true : undefined, 'a repeated idempotency_key is answered as a duplicate');
          if (repeat) continue;
          if (key) seenKeys.set(key, canonical(body));
          for (const f of Object.keys(expected) as (keyof typeof expected)[]) expected[f] += report.adds[f];
          assert.deepEqual(a.body.result?.totals, expected);
          if (key) {
            // the retry a client makes after a lost answer: the same body, answered as a duplicate, counted once
            const retry = await send(b.url, 'core_report_usage', JSON.stringify(body));
            assert.equal(retry.body.result?.duplicate, true, JSON.stringify(retry.body));
            assert.deepEqual(retry.body.result?.totals, expected);
          }
        }
        const view = await b.get(`/v1/runs/${runId}`);
        assert.deepEqual(view.body.totals, expected);
      }),
      { numRuns: 2, seed: Number(process.env.FUZZ_SEED ?? 20261124), endOnFailure: true },
    );
  });
});
