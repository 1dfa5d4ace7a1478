import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it, test } from 'node:test';
import pg from 'pg';
import { PG_URL, skipWithoutPostgres } from './support/postgres.js';
import { AGENT_ID, BridgeProcess } from './support/bridge-process.js';
import { OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.js';
import { spanOfStored } from '../src/store/run-store.js';

/** Two real bridge processes sharing one Postgres schema (docs/architecture.md#replicas: several replicas behind a load balancer). */

const RUN_TAG = `replicas_${process.pid}_${randomBytes(4).toString('hex')}`;
const hex = (id: string) => id.replace(/-/g, '');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until check() holds; fails naming what it waited for. Bounds are generous: this runs on a loaded 2-core machine. */
async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

const skip = await skipWithoutPostgres();

/** BRIDGE_STORE for a schema of this test run (the bridge reads `?schema=`). */
function storeUrl(schema: string): string {
  const url = new URL(PG_URL);
  url.searchParams.set('schema', schema);
  return url.toString();
}

/** A bridge on the shared schema, exporting to the receiver. */
function replica(schema: string, receiver: OtlpReceiver, name: string, env: Record<string, string> = {}): Promise<BridgeProcess> {
  return BridgeProcess.start({
    BRIDGE_STORE: storeUrl(schema),
    BRIDGE_INSTANCE_ID: name,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    BRIDGE_LOG_LEVEL: 'warn',
    ...env,
  });
}

/** Sum of one Prometheus sample (exact label set) over several replicas' /metrics. */
async function metricSum(replicas: BridgeProcess[], sample: string): Promise<number> {
  let sum = 0;
  for (const r of replicas) {
    const line = (await r.get('/metrics')).text.split('\n').find((l) => l.startsWith(`${sample} `));
    if (line) sum += Number(line.slice(sample.length + 1));
  }
  return sum;
}

/** Runs tasks with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

const countBy = (spans: ReceivedSpan[]) => {
  const n = new Map<string, number>();
  for (const s of spans) n.set(s.spanId, (n.get(s.spanId) ?? 0) + 1);
  return n;
};

if (skip) {
  test('two bridge replicas on postgres', { skip }, () => undefined);
} else {
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  const schemas: string[] = [];
  const newSchema = () => {
    schemas.push(`${RUN_TAG}_${schemas.length}`);
    return schemas[schemas.length - 1]!;
  };
  after(async () => {
    for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    await admin.end();
  });
  const outboxRows = async (schema: string) =>
    Number((await admin.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${schema}.outbox`)).rows[0]!.n);
  /** Every row acked: each export has been answered, so nothing is still on its way to the receiver. */
  const outboxDrained = (schema: string) => waitUntil(`the outbox of ${schema} to drain`, async () => (await outboxRows(schema)) === 0);

  interface Pair {
    schema: string;
    receiver: OtlpReceiver;
    a: BridgeProcess;
    b: BridgeProcess;
  }
  /** Registers hooks that start two replicas on a fresh schema (together: the migration lock lets one create the tables) and one receiver. */
  const replicaPair = (env: Record<string, string> = {}, hang = false): Pair => {
    const p = { schema: newSchema() } as Pair;
    before(async () => {
      p.receiver = await new OtlpReceiver().start();
      if (hang) p.receiver.answer({ kind: 'hang' });
      [p.a, p.b] = await Promise.all([replica(p.schema, p.receiver, 'replica-a', env), replica(p.schema, p.receiver, 'replica-b', env)]);
    });
    after(async () => {
      await Promise.all([p.a?.dispose(), p.b?.dispose()]);
      await p.receiver?.stop();
    });
    return p;
  };

  describe('two replicas share one run', () => {
    // a lease far above any answer time here: a relay never gives up on a slow answer and retries
    // (the one case where at-least-once delivery may send a span twice), so exactly once must hold
    const p = replicaPair({ BRIDGE_OUTBOX_LEASE: '30s' });

    it('concurrent reports on both add up exactly; the trace arrives once and complete', async () => {
      const id = randomUUID();
      const started = await p.a.tool('core_start_run', { project_key: 'replicas', agent_id: AGENT_ID, run_id: id });
      assert.equal(started.status, 200);

      const N = 2000;
      const ENTRY_EVERY = 100;
      const reports = Array.from({ length: N }, (_, i) => i);
      const report = (on: BridgeProcess) => async (i: number) => {
        const traces = i % ENTRY_EVERY === 0 ? [{ type: 'tool', tool: `step_${i}`, duration_ms: 5 }] : undefined;
        const r = await on.tool('core_report_usage', {
          run_id: id,
          token_usage: { input_tokens: i + 1, output_tokens: 2 * (i + 1), cost_usd: 0.25, model: `m${i % 3}`, llm_calls: 1 },
          ...(traces ? { traces } : {}),
        });
        assert.equal(r.status, 200, JSON.stringify(r.body));
      };
      const t0 = performance.now();
      await Promise.all([
        pool(
          reports.filter((i) => i % 2 === 0),
          16,
          report(p.a),
        ),
        pool(
          reports.filter((i) => i % 2 === 1),
          16,
          report(p.b),
        ),
      ]);
      const seconds = (performance.now() - t0) / 1000;
      console.log(
        `replicas: ${N} reports through 2 replicas on postgres in ${seconds.toFixed(2)} s = ${Math.round(N / seconds)} reports/s (16 in flight per replica)`,
      );

      const ended = await p.b.tool('core_end_run', { run_id: id, status: 'completed', summary: 'done' });
      assert.equal(ended.status, 200);
      const expected = {
        input_tokens: (N * (N + 1)) / 2,
        output_tokens: N * (N + 1),
        total_tokens: (3 * N * (N + 1)) / 2,
        cost_usd: 0.25 * N,
        llm_calls: N,
      };
      assert.deepEqual(ended.body.result.totals, expected);
      for (const r of [p.a, p.b]) {
        const run = (await r.get(`/v1/runs/${id}`)).body;
        assert.equal(run.status, 'completed');
        assert.deepEqual(run.totals, expected);
        assert.deepEqual([...run.models].sort(), ['m0', 'm1', 'm2']);
      }

      const entries = N / ENTRY_EVERY;
      // start_run + entry spans + one LLM span per report (no llm entries: each batch is uncovered) + root
      const want = 1 + entries + N + 1;
      await p.receiver.waitFor(
        (all) => new Set(all.filter((s) => s.traceId === hex(id)).map((s) => s.spanId)).size >= want,
        30_000,
        `${want} spans`,
      );
      await outboxDrained(p.schema);
      const spans = p.receiver.byTrace(hex(id));
      const seen = countBy(spans);
      assert.equal(seen.size, want);
      const roots = spans.filter((s) => s.name === 'invoke_agent');
      assert.equal(roots.length, 1, 'the root span arrives exactly once');
      assert.equal(roots[0]!.attributes['gen_ai.usage.input_tokens'], expected.input_tokens);
      assert.equal(spans.filter((s) => s.name === 'start_run').length, 1);
      assert.equal(spans.filter((s) => s.name.startsWith('execute_tool')).length, entries);
      // reports on two replicas at once: the LLM spans still carry every token exactly once
      const llm = [...new Map(spans.filter((s) => s.attributes['openinference.span.kind'] === 'LLM').map((s) => [s.spanId, s])).values()];
      assert.equal(llm.length, N);
      const sum = (key: string) => llm.reduce((n, s) => n + Number(s.attributes[key] ?? 0), 0);
      assert.deepEqual(
        [sum('gen_ai.usage.input_tokens'), sum('gen_ai.usage.output_tokens')],
        [expected.input_tokens, expected.output_tokens],
      );
      assert.deepEqual(
        [...seen].filter(([, n]) => n !== 1),
        [],
        'every span arrives exactly once',
      );
      for (const [r, name] of [
        [p.a, 'replica-a'],
        [p.b, 'replica-b'],
      ] as const) {
        assert.match((await r.get('/metrics')).text, new RegExp(`service_instance_id="${name}"`), 'each replica names itself');
      }
    });
  });

  describe('a replica dies holding claimed outbox rows', () => {
    const schema = newSchema();
    let receiver: OtlpReceiver;
    let a: BridgeProcess | undefined;
    let b: BridgeProcess | undefined;
    before(async () => {
      receiver = await new OtlpReceiver().start();
    });
    after(async () => {
      await Promise.all([a?.dispose(), b?.dispose()]);
      await receiver?.stop();
    });

    it('the other replica delivers them once the lease runs out', async () => {
      receiver.answer({ kind: 'hang' });
      a = await replica(schema, receiver, 'replica-a', { BRIDGE_OUTBOX_LEASE: '2s' });
      const id = randomUUID();
      assert.equal((await a.tool('core_start_run', { project_key: 'replicas', agent_id: AGENT_ID, run_id: id })).status, 200);
      for (let i = 0; i < 5; i++) {
        const traces = Array.from({ length: 10 }, (_, j) => ({ type: 'tool', tool: `t${i}_${j}` }));
        assert.equal((await a.tool('core_report_usage', { run_id: id, token_usage: { input_tokens: 10 }, traces })).status, 200);
      }
      assert.equal((await a.tool('core_end_run', { run_id: id, status: 'completed' })).status, 200);
      const want = 1 + 50 + 5 + 1; // start_run, the entries, one LLM span per report's uncovered usage, the root

      // A's relay has claimed a batch and is stuck exporting it to the hanging collector
      const leasedQuery = `SELECT span, lease_until FROM ${schema}.outbox WHERE lease_owner IS NOT NULL AND lease_until > $1`;
      let leased: { span: Buffer; lease_until: string }[] = [];
      await waitUntil('replica A to claim outbox rows', async () => {
        leased = (await admin.query<{ span: Buffer; lease_until: string }>(leasedQuery, [Date.now()])).rows;
        return leased.length > 0;
      });
      assert.equal(await outboxRows(schema), want, 'nothing was delivered yet');
      await a.kill();
      receiver.answer({ kind: 'ok' });

      // B's lease is long: B never gives up on a slow answer, so nothing it sends can arrive twice
      b = await replica(schema, receiver, 'replica-b', { BRIDGE_OUTBOX_LEASE: '30s' });
      // span id → the end of A's lease on its row (both sides use this host's clock)
      const leaseEndOf = new Map(leased.map((r) => [spanOfStored(r.span).span_id, Number(r.lease_until)]));
      await receiver.waitFor(
        (all) => new Set(all.filter((s) => s.traceId === hex(id)).map((s) => s.spanId)).size >= want,
        30_000,
        'every span',
      );
      await outboxDrained(schema);
      const spans = receiver.byTrace(hex(id));
      for (const s of spans.filter((span) => leaseEndOf.has(span.spanId))) {
        assert.ok(
          s.receivedAtMs >= leaseEndOf.get(s.spanId)!,
          `span ${s.spanId} held by A arrived ${leaseEndOf.get(s.spanId)! - s.receivedAtMs} ms before A's lease ran out`,
        );
      }
      const seen = countBy(spans);
      assert.equal(seen.size, want);
      assert.deepEqual(
        [...seen].filter(([, n]) => n !== 1),
        [],
        'each span delivered once',
      );
    });
  });

  describe('a collector slower than the outbox lease', () => {
    const p = replicaPair({ BRIDGE_OUTBOX_LEASE: '1s' }, true);

    it('a replica puts its rows back for a retry before its lease runs out, not after the 10 s export timeout', async () => {
      const id = randomUUID();
      assert.equal((await p.a.tool('core_start_run', { project_key: 'replicas', agent_id: AGENT_ID, run_id: id })).status, 200);
      assert.equal((await p.b.tool('core_end_run', { run_id: id, status: 'completed' })).status, 200);
      const attempts = async () =>
        (await admin.query<{ n: number }>(`SELECT COALESCE(MIN(attempts), 0) AS n FROM ${p.schema}.outbox`)).rows[0]!.n;
      await waitUntil('a retry of the hanging export', async () => (await attempts()) >= 1);
      // the reason logged is the lease, not the 10 s export timeout
      const leaseGiveUp = 'no answer from the collector within the 1000 ms outbox lease';
      await waitUntil('the give-up to be logged', () => [...p.a.logs, ...p.b.logs].some((l) => l.includes(leaseGiveUp)));

      const logsAtRecovery = [p.a.logs.length, p.b.logs.length];
      p.receiver.answer({ kind: 'ok' });
      await p.receiver.waitFor(
        (all) => new Set(all.filter((s) => s.traceId === hex(id)).map((s) => s.spanId)).size >= 2,
        30_000,
        'start_run and root',
      );
      await outboxDrained(p.schema);
      const spans = p.receiver.byTrace(hex(id));
      assert.deepEqual([...new Set(spans.map((s) => s.name))].sort(), ['invoke_agent', 'start_run']);
      // at least once: a span comes twice only when an answer slower than the lease was given up on
      // after the collector had taken it; then the relay logged that batch for a retry
      const givenUpAfterRecovery = [...p.a.logs.slice(logsAtRecovery[0]), ...p.b.logs.slice(logsAtRecovery[1])]
        .filter((l) => l.includes(leaseGiveUp))
        .reduce((n, l) => n + Number(/"spans":(\d+)/.exec(l)?.[1] ?? 0), 0);
      assert.ok(
        spans.length - 2 <= givenUpAfterRecovery,
        `${spans.length - 2} extra arrivals, ${givenUpAfterRecovery} spans given up on after recovery`,
      );
    });
  });

  describe('the reaper with two replicas', () => {
    // a long lease: no slow answer is given up on, so the root span cannot arrive twice by a retry
    const p = replicaPair({ BRIDGE_RUN_IDLE_TIMEOUT: '1s', BRIDGE_OUTBOX_LEASE: '30s' });

    it('ends an abandoned run exactly once; a late end on either replica still counts', async () => {
      const id = randomUUID();
      await p.a.tool('core_start_run', { project_key: 'reap2', agent_id: AGENT_ID, run_id: id });
      await p.b.tool('core_report_usage', { run_id: id, token_usage: { input_tokens: 100, cost_usd: 1, model: 'm' } });
      const root = (all: ReceivedSpan[]) => all.filter((s) => s.traceId === hex(id) && s.name === 'invoke_agent');
      await p.receiver.waitFor((all) => root(all).length > 0, 30_000, 'root');
      await outboxDrained(p.schema);
      const run = (await p.a.get(`/v1/runs/${id}`)).body;
      assert.equal(run.status, 'interrupted');
      assert.equal(run.end_reason, 'idle_timeout');
      assert.equal(root(p.receiver.spans).length, 1, 'the root span arrives once');
      assert.equal(root(p.receiver.spans)[0]!.attributes['oprelay.run.end_reason'], 'idle_timeout');
      const ended = 'oprelay_runs_ended_total{oprelay_project_key="reap2",status="interrupted",end_reason="idle_timeout"}';
      assert.equal(await metricSum([p.a, p.b], ended), 1);

      const late = await p.b.tool('core_end_run', {
        run_id: id,
        status: 'completed',
        token_usage: { input_tokens: 150, cost_usd: 1.5, model: 'm' },
      });
      assert.equal(late.status, 200);
      assert.equal(late.body.result.reaped, true);
      assert.equal((await p.a.get(`/v1/runs/${id}`)).body.totals.input_tokens, 150);
      await p.receiver.waitFor((all) => all.some((s) => s.traceId === hex(id) && s.name === 'late_end_run'), 30_000, 'late_end_run');
      await outboxDrained(p.schema);
      assert.equal(await metricSum([p.a, p.b], 'oprelay_usage_cost_total{oprelay_project_key="reap2",gen_ai_request_model="m"}'), 1.5);
      // both replicas kept scanning (every 250 ms) through all of the above: still one reap, one root
      assert.equal(root(p.receiver.spans).length, 1, 'the root span still arrived once');
      assert.equal(await metricSum([p.a, p.b], ended), 1);
    });
  });
}
