import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunRecord, RunStatus } from '../src/runs/model.js';
import type { ApiKeyRecord, RunQuery, RunStore } from '../src/store/run-store.js';
import type { SpanRecord } from '../src/telemetry/span-record.js';
import { usageContract } from './store-contract-usage.js';

export const T0 = 1_700_000_000_000;

export function makeRun(runId: string, overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    run_id: runId,
    project_key: 'alpha',
    agent_id: 'planner',
    agent_name: 'Planner Bot',
    status: 'running',
    end_reason: null,
    started_at: T0,
    ended_at: null,
    last_activity_at: T0,
    trace_id: '0af7651916cd43dd8448eb211c80319c',
    root_span_id: 'b7ad6b7169203331',
    parent_span_id: null,
    parent_run_id: null,
    session_id: 'session-1',
    trace_flags: 1,
    summary: 'triage the inbox',
    end_summary: null,
    meta: { ticket: 'OPS-42', nested: { retries: 2 } },
    totals: { input_tokens: 1200, output_tokens: 300, total_tokens: 1500, cost_usd: 0.25, llm_calls: 3 },
    extra: { cache_read_input_tokens: 100, cache_creation_input_tokens: 20, reasoning_output_tokens: 50 },
    models: ['gpt-4o-mini'],
    last_model: 'gpt-4o-mini',
    provider: 'openai',
    cost_sources: ['reported'],
    failures: 0,
    last_error_type: null,
    events_kept: 1,
    reports: 0,
    reports_dropped: 0,
    events_dropped: 0,
    links: [{ trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7', attributes: { kind: 'follows' } }],
    final_mismatch: false,
    root_exported: false,
    implicit: false,
    ...overrides,
  };
}

export function makeSpan(runId: string, name: string, start = T0): SpanRecord {
  return {
    project_key: 'alpha',
    trace_id: '0af7651916cd43dd8448eb211c80319c',
    span_id: 'b7ad6b7169203332',
    parent_span_id: 'b7ad6b7169203331',
    trace_flags: 1,
    name,
    kind: 0,
    start,
    end: start + 10,
    attributes: { 'oprelay.run.id': runId, 'gen_ai.request.model': 'gpt-4o-mini' },
    events: [],
    links: [],
    status: { code: 0 },
    dropped_attributes: 0,
    dropped_events: 0,
  };
}

async function enqueue(store: RunStore, spans: SpanRecord[], now: number): Promise<void> {
  await store.transact(spans[0].attributes['oprelay.run.id'] as string, (tx) => tx.enqueue(spans, now));
}

async function saveRuns(store: RunStore, runs: RunRecord[]): Promise<void> {
  for (const run of runs) await store.transact(run.run_id, (tx) => tx.saveRun(run));
}

const ids = (runs: RunRecord[]) => runs.map((r) => r.run_id);

/**
 * The behaviour every RunStore backend must have. makeStore returns a new, empty store that has
 * not been initialised; each describe block gets its own (init() is called here, then close(),
 * then cleanup).
 */
export function runStoreContract(name: string, makeStore: () => Promise<RunStore>, cleanup?: (s: RunStore) => Promise<void>): void {
  /** A describe block with its own fresh store. */
  function withStore(title: string, body: (store: () => RunStore) => void): void {
    describe(title, () => {
      let store: RunStore | undefined;
      before(async () => {
        store = await makeStore();
        await store.init();
      });
      after(async () => {
        if (!store) return;
        await store.close();
        await cleanup?.(store);
      });
      body(() => store!);
    });
  }

  describe(`RunStore contract: ${name}`, () => {
    withStore('runs', (store) => {
      it('saves and reads back every field of a run', async () => {
        const run = makeRun('run-a');
        await saveRuns(store(), [run]);
        assert.deepEqual(await store().getRun('run-a'), run);
        assert.equal(await store().getRun('missing'), null);
        await store().ping();
      });

      it('returns copies: mutating what went in or came out changes nothing stored', async () => {
        const run = makeRun('run-b');
        await saveRuns(store(), [run]);
        run.totals.cost_usd = 99;
        const read = (await store().getRun('run-b'))!;
        assert.equal(read.totals.cost_usd, 0.25);
        read.models.push('mutated');
        assert.deepEqual((await store().getRun('run-b'))!.models, ['gpt-4o-mini']);
      });

      it('overwrites a run and its indexed columns', async () => {
        await saveRuns(store(), [makeRun('run-c', { status: 'completed', ended_at: T0 + 100, project_key: 'beta' })]);
        const page = await store().listRuns({ sort: 'started_at', limit: 10, status: 'completed' });
        assert.deepEqual(ids(page.runs), ['run-c']);
        await saveRuns(store(), [makeRun('run-c', { status: 'failed', project_key: 'beta' })]);
        assert.deepEqual(ids((await store().listRuns({ sort: 'started_at', limit: 10, status: 'completed' })).runs), []);
        assert.equal((await store().getRun('run-c'))!.status, 'failed');
      });
    });

    withStore('transactions', (store) => {
      it('returns what fn returns and sees its own writes inside', async () => {
        const result = await store().transact('run-t', async (tx) => {
          await tx.saveRun(makeRun('run-t', { reports: 7 }));
          await tx.putIdempotent('alpha:k0', { response: { ok: true }, request_hash: 'h0' }, T0);
          return { seen: (await tx.getRun('run-t'))!.reports, idem: await tx.getIdempotent('alpha:k0', T0) };
        });
        assert.deepEqual(result, { seen: 7, idem: { response: { ok: true }, request_hash: 'h0' } });
      });

      it('rolls back the run, the outbox and idempotency when fn throws', async () => {
        await store().transact('run-r', async (tx) => {
          await tx.saveRun(makeRun('run-r'));
          await tx.enqueue([makeSpan('run-r', 'first')], T0);
        });
        const depthBefore = (await store().outboxStats(T0)).depth;
        await assert.rejects(
          store().transact('run-r', async (tx) => {
            await tx.saveRun(makeRun('run-r', { reports: 5, status: 'completed' }));
            await tx.saveRun(makeRun('run-new'));
            await tx.enqueue([makeSpan('run-r', 'x'), makeSpan('run-r', 'y')], T0);
            await tx.putIdempotent('alpha:k1', { response: { run_id: 'run-r' }, request_hash: 'h1' }, T0);
            assert.equal((await tx.getRun('run-r'))!.reports, 5);
            throw new Error('boom');
          }),
          /boom/,
        );
        assert.deepEqual(await store().getRun('run-r'), makeRun('run-r'));
        assert.equal(await store().getRun('run-new'), null);
        assert.equal((await store().outboxStats(T0)).depth, depthBefore);
        const idem = await store().transact('run-r', (tx) => tx.getIdempotent('alpha:k1', 0));
        assert.equal(idem, undefined);
      });

      it('keeps root-span events apart: appended in order, taken once, rolled back with the transaction', async () => {
        await saveRuns(store(), [makeRun('run-ev')]);
        const ev = (n: number) => ({ name: 'oprelay.usage.report', time: T0 + n, attributes: { n } });
        await store().transact('run-ev', async (tx) => {
          await tx.appendEvent('run-ev', 0, ev(0));
          await tx.appendEvent('run-ev', 1, ev(1));
        });
        await assert.rejects(
          store().transact('run-ev', async (tx) => {
            await tx.appendEvent('run-ev', 2, ev(2));
            throw new Error('boom');
          }),
          /boom/,
        );
        await store().transact('run-ev', (tx) => tx.appendEvent('run-ev', 2, ev(22)));
        const taken = await store().transact('run-ev', (tx) => tx.takeEvents('run-ev'));
        assert.deepEqual(taken, [ev(0), ev(1), ev(22)]);
        assert.deepEqual(await store().transact('run-ev', (tx) => tx.takeEvents('run-ev')), []);
        assert.deepEqual(await store().transact('other', (tx) => tx.takeEvents('other')), []);
        const sameTx = await store().transact('run-ev', async (tx) => {
          await tx.appendEvent('run-ev', 0, ev(7));
          const run = (await tx.getRun('run-ev'))!;
          run.reports = 42;
          await tx.saveRun(run);
          return { events: await tx.takeEvents('run-ev'), reports: (await tx.getRun('run-ev'))!.reports };
        });
        assert.deepEqual(sameTx, { events: [ev(7)], reports: 42 }, 'reads inside a transaction see its own writes');
      });

      it('a read-modify-write that changes only activity and cost updates those indexed columns', async () => {
        await saveRuns(store(), [makeRun('run-act', { last_activity_at: T0, status: 'running' })]);
        await store().transact('run-act', async (tx) => {
          const run = (await tx.getRun('run-act'))!;
          run.last_activity_at = T0 + 5000;
          run.totals = { ...run.totals, cost_usd: 1234 };
          await tx.saveRun(run);
        });
        const byCost = await store().listRuns({ sort: 'cost', limit: 1 });
        assert.equal(byCost.runs[0].run_id, 'run-act');
        assert.equal(byCost.runs[0].totals.cost_usd, 1234);
        assert.deepEqual(
          await store()
            .listRuns({ sort: 'cost', limit: 5, min_cost: 1000 })
            .then((p) => ids(p.runs)),
          ['run-act'],
        );
        assert.ok(!(await store().findStaleRuns(T0 + 1, 0, 100)).includes('run-act'), 'no longer idle at T0 + 1');
        assert.ok((await store().findStaleRuns(T0 + 5001, 0, 100)).includes('run-act'));
        await store().transact('run-act', async (tx) => {
          const run = (await tx.getRun('run-act'))!;
          run.status = 'completed';
          await tx.saveRun(run);
        });
        assert.ok(!(await store().findStaleRuns(T0 + 5001, 0, 100)).includes('run-act'), 'status change reaches the index');
      });

      it('serialises 200 concurrent read-modify-write transactions on one run', async () => {
        await saveRuns(store(), [makeRun('run-hot', { reports: 0 })]);
        const depthBefore = (await store().outboxStats(T0)).depth;
        await Promise.all(
          Array.from({ length: 200 }, (_, i) =>
            store().transact('run-hot', async (tx) => {
              const run = (await tx.getRun('run-hot'))!;
              await new Promise((resolve) => setImmediate(resolve));
              run.reports += 1;
              await tx.saveRun(run);
              await tx.enqueue([makeSpan('run-hot', `report-${i}`)], T0);
            }),
          ),
        );
        assert.equal((await store().getRun('run-hot'))!.reports, 200);
        assert.equal((await store().outboxStats(T0)).depth, depthBefore + 200);
      });
    });

    withStore('idempotency', (store) => {
      it('reads a response and its request hash back by scope, honouring notBefore', async () => {
        const response = { response: { run_id: 'run-i', status: 'running', totals: { cost_usd: 0.5 } }, request_hash: 'q8W1-hash' };
        await store().transact('run-i', (tx) => tx.putIdempotent('alpha:key-1', response, T0));
        const get = (scope: string, notBefore: number) => store().transact('run-i', (tx) => tx.getIdempotent(scope, notBefore));
        assert.deepEqual(await get('alpha:key-1', T0 - 1000), response);
        assert.deepEqual(await get('alpha:key-1', T0), response);
        assert.equal(await get('alpha:key-1', T0 + 1), undefined);
        assert.equal(await get('beta:key-1', 0), undefined);
      });

      it('replaces a response for the same scope and purges old ones', async () => {
        await store().transact('run-i', (tx) => tx.putIdempotent('alpha:key-2', { response: { n: 1 }, request_hash: 'a' }, T0));
        await store().transact('run-i', (tx) => tx.putIdempotent('alpha:key-2', { response: { n: 2 }, request_hash: null }, T0 + 10));
        assert.deepEqual(await store().transact('run-i', (tx) => tx.getIdempotent('alpha:key-2', T0 + 5)), {
          response: { n: 2 },
          request_hash: null,
        });
        // key-1 (T0) is older than T0 + 1; key-2 (T0 + 10) is not.
        assert.equal(await store().purgeIdempotency(T0 + 1), 1);
        assert.equal(await store().transact('run-i', (tx) => tx.getIdempotent('alpha:key-1', 0)), undefined);
        assert.deepEqual(await store().transact('run-i', (tx) => tx.getIdempotent('alpha:key-2', 0)), {
          response: { n: 2 },
          request_hash: null,
        });
      });
    });

    withStore('retention', (store) => {
      it('deletes ended runs past the cut-off in batches, with their events; keeps running and recent runs and the outbox', async () => {
        const old = { last_activity_at: T0, ended_at: T0 };
        await saveRuns(store(), [
          makeRun('ret-completed', { status: 'completed', ...old }),
          makeRun('ret-failed', { status: 'failed', ...old }),
          makeRun('ret-interrupted', { status: 'interrupted', ...old }),
          makeRun('ret-recent', { status: 'completed', last_activity_at: T0 + 5_000, ended_at: T0 + 5_000 }),
          makeRun('ret-running', { status: 'running', last_activity_at: T0 - 5_000 }),
        ]);
        await store().transact('ret-completed', (tx) =>
          tx.appendEvent('ret-completed', 1, { name: 'kept until deleted', time: T0, attributes: {} }),
        );
        await enqueue(store(), [makeSpan('ret-completed', 'not yet delivered')], T0);
        assert.equal(await store().deleteEndedRuns(T0 + 1, 2), 2);
        assert.equal(await store().deleteEndedRuns(T0 + 1, 2), 1);
        assert.equal(await store().deleteEndedRuns(T0 + 1, 2), 0);
        for (const id of ['ret-completed', 'ret-failed', 'ret-interrupted']) assert.equal(await store().getRun(id), null, id);
        assert.equal((await store().getRun('ret-recent'))!.status, 'completed');
        assert.equal((await store().getRun('ret-running'))!.status, 'running');
        assert.deepEqual(await store().transact('ret-completed', (tx) => tx.takeEvents('ret-completed')), []);
        const claimed = await store().claimOutbox('retention-test', 10, 30_000, T0 + 10);
        assert.deepEqual(
          claimed.map((r) => r.span.name),
          ['not yet delivered'],
        );
      });

      it('purges idempotency answers in batches of the limit asked for', async () => {
        for (const key of ['a', 'b', 'c'])
          await store().transact('run-p', (tx) => tx.putIdempotent(`alpha:batch-${key}`, { response: { key }, request_hash: null }, T0));
        await store().transact('run-p', (tx) => tx.putIdempotent('alpha:batch-new', { response: {}, request_hash: null }, T0 + 10));
        assert.equal(await store().purgeIdempotency(T0 + 1, 2), 2);
        assert.equal(await store().purgeIdempotency(T0 + 1, 2), 1);
        assert.equal(await store().purgeIdempotency(T0 + 1, 2), 0);
        assert.notEqual(await store().transact('run-p', (tx) => tx.getIdempotent('alpha:batch-new', 0)), undefined);
      });
    });

    withStore('outbox depth', (store) => {
      it('reports depth and the age of the oldest row', async () => {
        assert.deepEqual(await store().outboxStats(T0), { depth: 0, oldestAgeMs: null });
        await enqueue(
          store(),
          ['a', 'b', 'c'].map((n) => makeSpan('run-o', n)),
          T0,
        );
        await enqueue(
          store(),
          ['d', 'e'].map((n) => makeSpan('run-o', n)),
          T0 + 5000,
        );
        assert.deepEqual(await store().outboxStats(T0 + 10_000), { depth: 5, oldestAgeMs: 10_000 });
        assert.deepEqual(await store().outboxStats(T0 - 50), { depth: 5, oldestAgeMs: 0 });
      });
    });

    withStore('outbox claim and lease', (store) => {
      it('claims due rows in order, up to the limit, and leases them', async () => {
        await enqueue(
          store(),
          ['s0', 's1', 's2', 's3', 's4'].map((n) => makeSpan('run-c', n)),
          T0,
        );
        assert.deepEqual(await store().claimOutbox('early', 10, 30_000, T0 - 1), []);

        const first = await store().claimOutbox('relay-a', 3, 30_000, T0 + 1);
        assert.deepEqual(
          first.map((r) => r.span.name),
          ['s0', 's1', 's2'],
        );
        assert.deepEqual(
          first.map((r) => [r.run_id, r.created_at, r.attempts]),
          [
            ['run-c', T0, 0],
            ['run-c', T0, 0],
            ['run-c', T0, 0],
          ],
        );
        assert.deepEqual(first[0].span, makeSpan('run-c', 's0'));
        assert.ok(first[0].id < first[1].id && first[1].id < first[2].id);

        const second = await store().claimOutbox('relay-b', 10, 30_000, T0 + 10_000);
        assert.deepEqual(
          second.map((r) => r.span.name),
          ['s3', 's4'],
        );
        assert.ok(second[0].id > first[2].id);
        assert.deepEqual(await store().claimOutbox('relay-b', 10, 30_000, T0 + 20_000), []);

        // relay-a's lease (until T0 + 30001) has expired, relay-b's (until T0 + 40000) has not.
        const reclaimed = await store().claimOutbox('relay-b', 10, 30_000, T0 + 31_000);
        assert.deepEqual(
          reclaimed.map((r) => r.id),
          first.map((r) => r.id),
        );
        assert.equal((await store().outboxStats(T0)).depth, 5);
      });
    });

    withStore('outbox retry and ack', (store) => {
      it('hides retried rows until due, counts attempts, orders by next attempt', async () => {
        await enqueue(
          store(),
          ['r0', 'r1'].map((n) => makeSpan('run-r', n)),
          T0,
        );
        const [r0, r1] = await store().claimOutbox('relay-a', 10, 30_000, T0 + 1);
        await store().retryOutbox([r0.id], T0 + 60_000);
        // r0 is not due yet and r1 is still leased.
        assert.deepEqual(await store().claimOutbox('relay-b', 10, 30_000, T0 + 1000), []);
        const later = await store().claimOutbox('relay-b', 10, 30_000, T0 + 60_000);
        assert.deepEqual(
          later.map((r) => [r.id, r.attempts]),
          [
            [r1.id, 0],
            [r0.id, 1],
          ],
        );
        await store().retryOutbox([r0.id], T0 + 70_000);
        await store().retryOutbox([r0.id], T0 + 80_000);
        const again = await store().claimOutbox('relay-b', 10, 30_000, T0 + 80_000);
        assert.deepEqual(
          again.map((r) => [r.id, r.attempts]),
          [[r0.id, 3]],
        );
      });

      it('removes acknowledged rows', async () => {
        await store().ackOutbox((await store().claimOutbox('relay-c', 10, 1, T0 + 200_000)).map((r) => r.id));
        assert.equal((await store().outboxStats(T0)).depth, 0);
        await enqueue(
          store(),
          ['a0', 'a1', 'a2'].map((n) => makeSpan('run-a', n)),
          T0,
        );
        const rows = await store().claimOutbox('relay-a', 10, 30_000, T0 + 1);
        await store().ackOutbox([rows[0].id, rows[2].id, 999_999]);
        assert.equal((await store().outboxStats(T0)).depth, 1);
        const left = await store().claimOutbox('relay-b', 10, 30_000, T0 + 40_000);
        assert.deepEqual(
          left.map((r) => r.span.name),
          ['a1'],
        );
      });
      it('acknowledges a run of consecutive ids without touching the rows around it', async () => {
        await store().ackOutbox((await store().claimOutbox('relay-c', 10, 1, T0 + 200_000)).map((r) => r.id));
        await enqueue(
          store(),
          ['b0', 'b1', 'b2', 'b3', 'b4'].map((n) => makeSpan('run-b', n)),
          T0,
        );
        const rows = await store().claimOutbox('relay-a', 10, 30_000, T0 + 1);
        await store().ackOutbox(rows.slice(1, 4).map((r) => r.id));
        const left = await store().claimOutbox('relay-b', 10, 30_000, T0 + 40_000);
        assert.deepEqual(
          left.map((r) => r.span.name),
          ['b0', 'b4'],
        );
      });
    });

    withStore('dead letters', (store) => {
      it('moves rows to dead letters with reason and attempts, records and replays them', async () => {
        await enqueue(
          store(),
          ['d0', 'd1', 'd2'].map((n) => makeSpan('run-d', n)),
          T0,
        );
        const [d0, d1] = await store().claimOutbox('relay-a', 2, 30_000, T0 + 1);
        await store().retryOutbox([d0.id], T0 + 2);
        await store().deadLetter([d0.id, d1.id], 'HTTP 400: bad span', T0 + 5000);
        assert.equal((await store().outboxStats(T0)).depth, 1);
        assert.equal(await store().countDeadLetters(), 2);
        const dead = await store().listDeadLetters(10);
        assert.deepEqual(
          dead.map((r) => [r.span.name, r.run_id, r.created_at, r.dead_at, r.attempts, r.reason]),
          [
            ['d0', 'run-d', T0, T0 + 5000, 2, 'HTTP 400: bad span'],
            ['d1', 'run-d', T0, T0 + 5000, 1, 'HTTP 400: bad span'],
          ],
        );
        assert.deepEqual(dead[0].span, makeSpan('run-d', 'd0'));

        await store().recordDeadLetters([makeSpan('run-e', 'e0')], 'HTTP 413: single span too large', T0 + 6000);
        assert.equal(await store().countDeadLetters(), 3);
        assert.equal((await store().outboxStats(T0)).depth, 1);
        const all = await store().listDeadLetters(10);
        assert.deepEqual(
          [all[2].span.name, all[2].run_id, all[2].created_at, all[2].dead_at, all[2].attempts, all[2].reason],
          ['e0', 'run-e', T0 + 6000, T0 + 6000, 1, 'HTTP 413: single span too large'],
        );
        assert.equal((await store().listDeadLetters(2)).length, 2);

        assert.equal(await store().replayDeadLetters([]), 0);
        assert.equal(await store().replayDeadLetters([all[1].id]), 1);
        assert.equal(await store().countDeadLetters(), 2);
        assert.deepEqual(
          (await store().listDeadLetters(10)).map((r) => r.span.name),
          ['d0', 'e0'],
        );
        assert.equal(await store().replayDeadLetters(), 2);
        assert.equal(await store().countDeadLetters(), 0);
        assert.equal((await store().outboxStats(T0)).depth, 4);

        // Replayed rows are due from the time of replay, with fresh attempts, after d2 (due at T0).
        const replayed = await store().claimOutbox('relay-b', 10, 30_000, Date.now() + 1000);
        assert.deepEqual(
          replayed.map((r) => [r.span.name, r.attempts]),
          [
            ['d2', 0],
            ['d1', 0],
            ['d0', 0],
            ['e0', 0],
          ],
        );
      });
    });

    withStore('outbox expiry', (store) => {
      it('deletes only rows created before the cut-off and counts them', async () => {
        await enqueue(
          store(),
          ['x0', 'x1'].map((n) => makeSpan('run-x', n)),
          T0,
        );
        await enqueue(
          store(),
          ['x2', 'x3', 'x4'].map((n) => makeSpan('run-x', n)),
          T0 + 10_000,
        );
        await store().claimOutbox('relay-a', 1, 30_000, T0 + 1);
        assert.equal(await store().expireOutbox(T0 + 10_000), 2);
        assert.deepEqual(await store().outboxStats(T0 + 10_000), { depth: 3, oldestAgeMs: 0 });
        assert.equal(await store().expireOutbox(T0 + 10_000), 0);
      });
    });

    withStore('usageSummary and failedRuns', usageContract);

    withStore('listRuns', (store) => {
      // 25 runs: alpha 0-9, beta 10-19, gamma 20-24; started_at falls as i rises, in tied pairs
      // (1,2), (3,4), …; cost_usd = (i % 4) * 0.25; every 5th run completed.
      const runs = Array.from({ length: 25 }, (_, i) =>
        makeRun(`run-${String(i).padStart(2, '0')}`, {
          project_key: i < 10 ? 'alpha' : i < 20 ? 'beta' : 'gamma',
          status: (i % 5 === 4 ? 'completed' : 'running') satisfies RunStatus,
          agent_id: i % 3 === 0 ? 'planner' : i % 3 === 1 ? 'coder' : null,
          started_at: T0 + Math.floor((24 - i) / 2) * 1000,
          last_activity_at: T0 + Math.floor((24 - i) / 2) * 1000 + 500,
          parent_run_id: i > 20 ? 'run-20' : null,
          totals: { input_tokens: i, output_tokens: i, total_tokens: 2 * i, cost_usd: (i % 4) * 0.25, llm_calls: 1 },
        }),
      );
      const list = async (q: Partial<RunQuery>) => ids((await store().listRuns({ sort: 'started_at', limit: 100, ...q })).runs);
      const n = (...xs: number[]) => xs.map((i) => `run-${String(i).padStart(2, '0')}`);

      before(async () => saveRuns(store(), runs));

      it('sorts by started_at desc, ties by run_id desc', async () => {
        assert.deepEqual(await list({ limit: 7 }), n(0, 2, 1, 4, 3, 6, 5));
      });

      it('sorts by cost desc, ties by run_id desc', async () => {
        assert.deepEqual(await list({ sort: 'cost', limit: 8 }), n(23, 19, 15, 11, 7, 3, 22, 18));
      });

      it('filters by project scope, project, status, agent, since, min_cost and parent', async () => {
        assert.equal((await list({ projects: ['alpha', 'gamma'] })).length, 15);
        assert.deepEqual(await list({ projects: [] }), []);
        assert.deepEqual(await list({ projects: ['alpha'], project_key: 'beta' }), []);
        assert.deepEqual((await list({ project_key: 'beta' })).sort(), n(10, 11, 12, 13, 14, 15, 16, 17, 18, 19));
        assert.deepEqual((await list({ status: 'completed' })).sort(), n(4, 9, 14, 19, 24));
        assert.deepEqual((await list({ agent_id: 'planner' })).sort(), n(0, 3, 6, 9, 12, 15, 18, 21, 24));
        assert.deepEqual(await list({ since: T0 + 10_000 }), n(0, 2, 1, 4, 3));
        assert.equal((await list({ min_cost: 0.5 })).length, 12);
        assert.deepEqual(await list({ parent_run_id: 'run-20' }), n(22, 21, 24, 23));
        assert.deepEqual(await list({ project_key: 'alpha', status: 'running', min_cost: 0.5 }), n(2, 3, 6, 7));
        assert.deepEqual(await list({ projects: ['gamma'], status: 'running', sort: 'cost' }), n(23, 22, 21, 20));
      });

      for (const sort of ['started_at', 'cost'] as const) {
        it(`pages through every run by ${sort} without duplicates or gaps`, async () => {
          const all = await list({ sort });
          const pages: string[][] = [];
          let cursor: string | undefined;
          do {
            const page = await store().listRuns({ sort, limit: 10, cursor });
            pages.push(ids(page.runs));
            cursor = page.next_cursor ?? undefined;
          } while (cursor && pages.length < 10);
          assert.deepEqual(
            pages.map((p) => p.length),
            [10, 10, 5],
          );
          assert.deepEqual(pages.flat(), all);
          assert.equal(new Set(pages.flat()).size, 25);
        });
      }

      it('pages a filtered list and ends with a null cursor', async () => {
        const first = await store().listRuns({ sort: 'started_at', limit: 10, projects: ['alpha', 'gamma'] });
        assert.equal(first.runs.length, 10);
        assert.ok(first.next_cursor);
        const second = await store().listRuns({
          sort: 'started_at',
          limit: 10,
          projects: ['alpha', 'gamma'],
          cursor: first.next_cursor ?? undefined,
        });
        assert.equal(second.runs.length, 5);
        assert.equal(second.next_cursor, null);
        const exact = await store().listRuns({ sort: 'started_at', limit: 5, project_key: 'gamma' });
        assert.equal(exact.next_cursor, null);
      });

      it('counts running runs per project, with the start of the oldest', async () => {
        const active = await store().activeRuns();
        assert.deepEqual(
          new Map([...active].sort()),
          new Map([
            ['alpha', { count: 8, oldestStartedAt: T0 + 8000 }],
            ['beta', { count: 8, oldestStartedAt: T0 + 3000 }],
            ['gamma', { count: 4, oldestStartedAt: T0 }],
          ]),
        );
      });
    });

    withStore('stale runs', (store) => {
      it('finds running runs idle too long or running too long', async () => {
        const idleBefore = T0 + 50_000;
        const startedBefore = T0 + 10_000;
        await saveRuns(store(), [
          makeRun('idle', { started_at: T0 + 20_000, last_activity_at: T0 + 40_000 }),
          makeRun('too-long', { started_at: T0, last_activity_at: T0 + 60_000 }),
          makeRun('fresh', { started_at: T0 + 20_000, last_activity_at: T0 + 60_000 }),
          makeRun('boundary', { started_at: startedBefore, last_activity_at: idleBefore }),
          makeRun('ended', { status: 'completed', started_at: T0, last_activity_at: T0 }),
        ]);
        assert.deepEqual((await store().findStaleRuns(idleBefore, startedBefore, 10)).sort(), ['idle', 'too-long']);
        assert.deepEqual(await store().findStaleRuns(idleBefore, 0, 10), ['idle']);
        assert.deepEqual(await store().findStaleRuns(0, startedBefore, 10), ['too-long']);
        assert.equal((await store().findStaleRuns(idleBefore, startedBefore, 1)).length, 1);
        assert.deepEqual(await store().findStaleRuns(0, 0, 10), []);
      });
    });

    withStore('api keys', (store) => {
      const key = (id: string, createdAt: number, projects: string[]): ApiKeyRecord => ({
        id,
        hash: `sha256:${id}`,
        projects,
        created_at: createdAt,
        revoked_at: null,
        label: id === 'k1' ? 'ci pipeline' : null,
        scope: id === 'k2' ? 'read' : 'write',
      });

      it('puts, lists and revokes keys', async () => {
        await store().putApiKey(key('k2', T0 + 10, ['*']));
        await store().putApiKey(key('k1', T0, ['alpha', 'beta']));
        assert.deepEqual(await store().listApiKeys(), [key('k1', T0, ['alpha', 'beta']), key('k2', T0 + 10, ['*'])]);
        assert.equal(await store().revokeApiKey('k1', T0 + 100), true);
        assert.equal(await store().revokeApiKey('k1', T0 + 200), false);
        assert.equal(await store().revokeApiKey('nope', T0 + 200), false);
        const listed = await store().listApiKeys();
        assert.deepEqual(
          listed.map((k) => [k.id, k.revoked_at]),
          [
            ['k1', T0 + 100],
            ['k2', null],
          ],
        );
      });

      it('rejects a duplicate key id', async () => {
        await assert.rejects(store().putApiKey(key('k2', T0 + 20, ['gamma'])));
        assert.equal((await store().listApiKeys()).length, 2);
      });
    });
  });
}
