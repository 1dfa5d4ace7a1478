import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fastReportUsage } from '../src/tools/fast-report.js';
import { toolSchemas } from '../src/tools/schemas.js';

const schema = toolSchemas.core_report_usage;

/** Values near every edge the schema has: limits ±1, wrong types, fractions, unsafe integers, odd strings. */
const anyValue = fc.oneof(
  fc.constantFrom(0, 1, -1, 0.5, 2 ** 53, 2 ** 53 - 1, -0, 1e308),
  fc.nat({ max: 10_000_000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(
    '',
    'a',
    'ok',
    'error',
    'llm',
    'tool',
    '2026-11-25T10:00:00Z',
    '2026-11-25T10:00:00.123+02:00',
    '2026-11-25 10:00',
    '\u0000\u0001"\\',
  ),
  fc.constantFrom(127, 128, 129, 1999, 2000, 2001, 7999, 8000, 8001).map((n) => 'x'.repeat(n)),
  fc.constantFrom(2700, 2800).map((n) => '\u0001'.repeat(n)),
  fc.string({ maxLength: 20 }),
  fc.constant(null),
  fc.boolean(),
  fc.constant({ nested: { deeper: 1 } }),
  fc.constant([1, 2]),
);

const USAGE_KEYS = [
  'input_tokens',
  'output_tokens',
  'total_tokens',
  'cost_usd',
  'model',
  'llm_calls',
  'prompt_preview',
  'cache_read_input_tokens',
  'cache_creation_input_tokens',
  'reasoning_output_tokens',
];
const ENTRY_KEYS = [
  'type',
  'name',
  'model',
  'tool',
  'input_tokens',
  'output_tokens',
  'total_tokens',
  'cache_read_input_tokens',
  'cache_creation_input_tokens',
  'reasoning_output_tokens',
  'cost_usd',
  'started_at',
  'ended_at',
  'duration_ms',
  'status',
  'error',
];

/** A well-typed value for a field most of the time, anything at all sometimes. */
function valueFor(key: string): fc.Arbitrary<unknown> {
  const good: Record<string, fc.Arbitrary<unknown>> = {
    cost_usd: fc.double({ min: 0, max: 100, noNaN: true }),
    duration_ms: fc.double({ min: 0, max: 1e6, noNaN: true }),
    model: fc.constantFrom('claude-opus-4', 'gpt-4o', 'o3', ''),
    status: fc.constantFrom('ok', 'error', 'ok', 'error', 'OK'),
    started_at: fc.oneof(
      fc.nat(),
      fc
        .date({ noInvalidDate: true, min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z') })
        .map((d) => d.toISOString()),
    ),
    ended_at: fc.oneof({ weight: 5, arbitrary: fc.nat() }, fc.constant('yesterday')),
  };
  const base = good[key] ?? (/tokens|calls/.test(key) ? fc.nat({ max: 1e9 }) : fc.string({ maxLength: 140 }));
  return fc.oneof({ weight: 30, arbitrary: base }, { weight: 1, arbitrary: anyValue });
}

const objectOf = (keys: string[]) =>
  fc
    .tuple(fc.subarray(keys), fc.oneof({ weight: 20, arbitrary: fc.constant(null) }, fc.constantFrom('colour', '__proto__', 'constructor')))
    .chain(([ks, extra]) =>
      fc.tuple(
        ...ks.map((k) => valueFor(k).map((v) => [k, v] as const)),
        extra ? anyValue.map((v) => [extra, v] as const) : fc.constant(null),
      ),
    )
    .map(
      (pairs) =>
        JSON.parse(JSON.stringify(Object.fromEntries(pairs.filter((p): p is readonly [string, unknown] => p !== null)))) as unknown,
    );

const uuidish = fc.oneof(
  { weight: 8, arbitrary: fc.uuid() },
  fc.uuid().map((u) => u.toUpperCase()),
  fc.constantFrom('00000000-0000-0000-0000-000000000000', 'not-a-uuid'),
);

/** Mostly reports of the right shape with a few bad values; sometimes anything at all. */
const args = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record(
      {
        run_id: uuidish,
        token_usage: objectOf(USAGE_KEYS),
        traces: fc.array(objectOf(ENTRY_KEYS), { maxLength: 4 }),
        idempotency_key: fc.string({ minLength: 0, maxLength: 130 }),
      },
      { requiredKeys: ['run_id', 'token_usage'] },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record(
      {
        run_id: uuidish,
        token_usage: fc.oneof(objectOf(USAGE_KEYS), anyValue),
        traces: fc.oneof(fc.array(objectOf(ENTRY_KEYS)), anyValue),
        idempotency_key: anyValue,
        colour: anyValue,
      },
      { requiredKeys: [] },
    ),
  },
);

describe('fast path for core_report_usage', () => {
  it('answers only what the zod schema answers (generated inputs)', () => {
    let fast = 0;
    let total = 0;
    fc.assert(
      fc.property(args, (input) => {
        total++;
        const out = fastReportUsage(input);
        if (out === undefined) return;
        fast++;
        const parsed = schema.safeParse(input);
        assert.ok(parsed.success, `fast path accepted what the schema refuses: ${JSON.stringify(input).slice(0, 300)}`);
        assert.deepEqual(out, parsed.data);
      }),
      { numRuns: 4000, seed: 20261125 },
    );
    // not vacuous: a good share of the generated inputs take the fast path
    assert.ok(fast > total / 20, `fast path taken ${fast} of ${total} times`);
  });

  it('takes the fast path for the usual report, ISO or epoch times, and lowercases the run id', () => {
    const input = {
      run_id: '7C1D2E3F-4A5B-4C6D-8E7F-0A1B2C3D4E5F',
      token_usage: { input_tokens: 8400, output_tokens: 1200, cost_usd: 0.028, model: 'claude-opus-4', llm_calls: 3 },
      traces: [
        {
          type: 'llm',
          model: 'claude-opus-4',
          input_tokens: 2800,
          output_tokens: 400,
          started_at: '2025-11-25T10:00:00Z',
          ended_at: 1764064800800,
          status: 'ok',
        },
        { type: 'tool', tool: 'read_file', started_at: 1764064800850, duration_ms: 120, status: 'error', error: 'ENOENT' },
      ],
      idempotency_key: 'report-1',
    };
    const out = fastReportUsage(input);
    assert.ok(out);
    assert.equal(out.run_id, '7c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f');
    assert.deepEqual(out, schema.parse(input));
  });

  it('leaves the schema to name what is wrong', () => {
    for (const bad of [
      { run_id: '7c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f', token_usage: { input_token: 5 } },
      { run_id: '7c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f', token_usage: { input_tokens: -1 } },
      { run_id: '7c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f', token_usage: {}, traces: [{ status: 'fine' }] },
      { run_id: '7c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f', token_usage: {}, traces: [{ custom: { a: 1 } }] },
      { token_usage: {} },
    ])
      assert.equal(fastReportUsage(bad), undefined, JSON.stringify(bad));
  });
});
