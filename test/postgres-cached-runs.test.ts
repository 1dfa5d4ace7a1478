/**
 * Calls on a run the process has cached (src/store/postgres-cached.ts): one round trip with no lock
 * statement and no read, and never a lost or resurrected update when the cache is stale.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, beforeEach, describe, test } from 'node:test';
import pg from 'pg';
import { PG_URL, skipWithoutPostgres } from './support/postgres.js';
import { PostgresStore } from '../src/store/postgres-store.js';
import type { StoreTx } from '../src/store/run-store.js';
import { makeRun, makeSpan } from './store-contract.js';

const skip = await skipWithoutPostgres();
const SCHEMA = `t_cached_${process.pid}_${randomBytes(4).toString('hex')}`;

/** The statement texts every pg client of this process sends while `sent` is recording. */
let sent: string[] | undefined;
const query = pg.Client.prototype.query;
function recordStatements(): void {
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const config = args[0] as string | { text: string };
    sent?.push(typeof config === 'string' ? config : config.text);
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof query;
}

/** One increment of the run's input tokens (the run is created when missing); returns the count it saw. */
function increment(store: PostgresStore, runId: string, extra?: (tx: StoreTx) => Promise<void>): Promise<number | null> {
  return store.transact(runId, async (tx) => {
    const run = await tx.getRun(runId);
    const seen = run?.totals.input_tokens ?? null;
    const next = run ?? makeRun(runId);
    next.totals.input_tokens = (seen ?? 0) + 1;
    if (extra) await extra(tx);
    await tx.saveRun(next);
    await tx.enqueue([makeSpan(runId, `span ${next.totals.input_tokens}`)], 2_000);
    return seen;
  });
}

describe('postgres store: calls on cached runs', { skip }, () => {
  let a: PostgresStore;
  let b: PostgresStore;
  let admin: pg.Client;

  beforeEach(async () => {
    admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    a = new PostgresStore(PG_URL, { schema: SCHEMA });
    b = new PostgresStore(PG_URL, { schema: SCHEMA });
    await a.init();
    await b.init();
    recordStatements();
  });

  afterEach(async () => {
    pg.Client.prototype.query = query;
    sent = undefined;
    await Promise.all([a.close(), b.close()]);
    await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await admin.end();
  });

  after(() => {
    pg.Client.prototype.query = query;
  });

  test('a run written before commits its next call in one round trip: BEGIN, the checked write, COMMIT', async () => {
    assert.equal(await increment(a, 'run-1'), null);
    sent = [];
    assert.equal(await increment(a, 'run-1'), 1);
    assert.equal(sent.length, 3, sent.join('\n---\n'));
    assert.equal(sent[0], 'BEGIN');
    assert.match(sent[1]!, /pg_try_advisory_xact_lock/);
    assert.match(sent[1]!, /runs\.doc = u\.cached_doc/);
    assert.equal(sent[2], 'COMMIT');
    assert.equal((await a.getRun('run-1'))?.totals.input_tokens, 2);
    assert.equal((await a.outboxStats(2_000)).depth, 2);
  });

  test('replicas writing one run in turn each see the other’s writes: no update is lost', async () => {
    for (let i = 0; i < 20; i++) assert.equal(await increment(i % 2 ? b : a, 'run-2'), i === 0 ? null : i);
    assert.equal((await a.getRun('run-2'))?.totals.input_tokens, 20);
    assert.equal((await b.outboxStats(2_000)).depth, 20);
  });

  test('a run deleted behind the cache is not written back', async () => {
    await increment(a, 'run-3');
    await admin.query(`DELETE FROM ${SCHEMA}.runs WHERE run_id = 'run-3'`);
    // the call runs again on the stored state: no run, so it starts from a new one
    assert.equal(await increment(a, 'run-3'), null);
    assert.equal((await a.getRun('run-3'))?.totals.input_tokens, 1);
  });

  test('a cached call on a run another replica holds locked waits for it and builds on its write', async () => {
    await increment(a, 'run-4');
    let letGo!: () => void;
    const gate = new Promise<void>((resolve) => (letGo = resolve));
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    const slow = increment(b, 'run-4', async () => {
      holding();
      await gate;
    });
    await held;
    let cachedDone = false;
    const cached = increment(a, 'run-4').then((seen) => ((cachedDone = true), seen));
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(cachedDone, false, 'the cached call must wait for the lock holder');
    } finally {
      letGo();
    }
    assert.equal(await slow, 1);
    assert.equal(await cached, 2);
    assert.equal((await a.getRun('run-4'))?.totals.input_tokens, 3);
  });

  test('a cached call that needs another read runs again holding the lock, with the same result', async () => {
    await increment(a, 'run-5');
    sent = [];
    const seen = await increment(a, 'run-5', async (tx) => {
      assert.equal(await tx.getIdempotent('scope-1', 0), undefined);
      await tx.putIdempotent('scope-1', { response: { ok: true }, request_hash: null }, 2_000);
    });
    assert.equal(seen, 1);
    assert.ok(
      sent.some((text) => /pg_try_advisory_xact_lock\(\$1/.test(text)),
      'the call took its lock with a statement of its own',
    );
    assert.equal((await a.getRun('run-5'))?.totals.input_tokens, 2);
    const answer = await a.transact('run-5', (tx) => tx.getIdempotent('scope-1', 0));
    assert.deepEqual(answer, { response: { ok: true }, request_hash: null });
  });

  test('a run another replica wrote is retried alone, the rest of its transaction commits, then the cache is off for a while', async () => {
    const runs = ['run-6a', 'run-6b', 'run-6c'];
    await Promise.all(runs.map((id) => increment(a, id)));
    await increment(b, 'run-6b');
    sent = [];
    assert.deepEqual(await Promise.all(runs.map((id) => increment(a, id))), [1, 2, 1]);
    const cachedWrites = sent.filter((text) => /cached_doc/.test(text));
    assert.equal(cachedWrites.length, 1, 'the three calls shared one transaction of cached runs');
    assert.equal(sent.filter((text) => /pg_try_advisory_xact_lock\(\$1/.test(text)).length, 1, 'only run-6b took its lock again');
    sent = [];
    assert.equal(await increment(a, 'run-6a'), 2);
    assert.ok(!sent.some((text) => /cached_doc/.test(text)), 'another replica writes these runs: every call takes its lock first');
    for (const [id, n] of [
      ['run-6a', 3],
      ['run-6b', 3],
      ['run-6c', 2],
    ] as const) {
      assert.equal((await b.getRun(id))?.totals.input_tokens, n, id);
    }
    assert.equal((await a.outboxStats(2_000)).depth, 8);
  });

  test('calls with an idempotency look-up pause their run: the next one does not try the cache first', async () => {
    const withKey = (n: number) => async (tx: StoreTx) => {
      assert.equal(await tx.getIdempotent(`scope-${n}`, 0), undefined);
      await tx.putIdempotent(`scope-${n}`, { response: n, request_hash: null }, 2_000);
    };
    await increment(a, 'run-7');
    await increment(a, 'run-7', withKey(1));
    sent = [];
    assert.equal(await increment(a, 'run-7', withKey(2)), 2);
    assert.ok(!sent.some((text) => /cached_doc/.test(text)), sent.join('\n---\n'));
  });

  test('concurrent calls on many cached runs through two replicas add up exactly', async () => {
    const runs = Array.from({ length: 16 }, (_, i) => `run-many-${i}`);
    await Promise.all(runs.map((id) => increment(a, id)));
    await Promise.all(runs.map((id) => increment(b, id)));
    await Promise.all(Array.from({ length: 320 }, (_, i) => increment(i % 3 ? a : b, runs[i % runs.length]!)));
    for (const id of runs) assert.equal((await b.getRun(id))?.totals.input_tokens, 22, id);
    assert.equal((await a.outboxStats(2_000)).depth, 16 * 22);
  });
});
