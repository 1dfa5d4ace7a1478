import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { PG_URL, skipWithoutPostgres } from './support/postgres.js';
import { PostgresStore } from '../src/store/postgres-store.js';
import type { RunStore } from '../src/store/run-store.js';
import { makeRun, makeSpan, runStoreContract } from './store-contract.js';

const RUN_TAG = `t_${process.pid}_${randomBytes(4).toString('hex')}`;
let schemaSeq = 0;
const newSchema = () => `${RUN_TAG}_${schemaSeq++}`;

const skip = await skipWithoutPostgres();

/** Open stores and the schema each one uses; several stores may share a schema (replicas). */
const openStores = new Map<RunStore, string>();

function openStore(schema: string, poolSize?: number): PostgresStore {
  const store = new PostgresStore(PG_URL, { schema, poolSize });
  openStores.set(store, schema);
  return store;
}

async function dropSchemas(schemas: Iterable<string>): Promise<void> {
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await admin.end();
  }
}

/** Closes every open store and drops every schema they used. */
async function cleanupAll(): Promise<void> {
  const schemas = new Set(openStores.values());
  await Promise.all([...openStores.keys()].map((s) => s.close()));
  openStores.clear();
  await dropSchemas(schemas);
}

if (skip) {
  test('RunStore contract: postgres', { skip }, () => undefined);
} else {
  // The contract calls init() and close() itself; a fresh schema per describe block keeps blocks apart.
  runStoreContract(
    'postgres',
    async () => openStore(newSchema()),
    async (store) => {
      const schema = openStores.get(store);
      openStores.delete(store);
      if (schema) await dropSchemas([schema]);
    },
  );
}

/** Two replicas (two pools) sharing one freshly migrated schema. */
async function twoReplicas(): Promise<[PostgresStore, PostgresStore]> {
  const schema = newSchema();
  const a = openStore(schema);
  const b = openStore(schema);
  await a.init();
  await b.init();
  return [a, b];
}

describe('postgres store: several replicas', { skip }, () => {
  after(cleanupAll);

  test('500 concurrent increments on one new run through two pools lose nothing', async () => {
    const [a, b] = await twoReplicas();
    const runId = 'run-contended';
    const startTokens = makeRun(runId).totals.input_tokens;
    await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        (i % 2 ? a : b).transact(runId, async (tx) => {
          const run = (await tx.getRun(runId)) ?? makeRun(runId);
          run.totals.input_tokens += 1;
          await tx.saveRun(run);
          await tx.enqueue([makeSpan(runId, `span ${i}`)], 2_000);
        }),
      ),
    );
    assert.equal((await a.getRun(runId))?.totals.input_tokens, startTokens + 500);
    assert.deepEqual(await b.outboxStats(2_500), { depth: 500, oldestAgeMs: 500 });
  });

  test('concurrent claimers on two replicas never get the same outbox row', async () => {
    const [a, b] = await twoReplicas();
    for (let r = 0; r < 3; r++) {
      await a.transact(`run-${r}`, (tx) =>
        tx.enqueue(
          Array.from({ length: 100 }, (_, i) => makeSpan(`run-${r}`, `span ${r * 100 + i}`)),
          1_000,
        ),
      );
    }
    const claimed: number[] = [];
    const claimer = async (store: PostgresStore, owner: string) => {
      for (;;) {
        const rows = await store.claimOutbox(owner, 5, 60_000, 2_000);
        if (rows.length === 0) return;
        claimed.push(...rows.map((r) => r.id));
      }
    };
    await Promise.all([a, b, a, b, a, b, a, b].map((store, i) => claimer(store, `owner-${i}`)));
    assert.equal(claimed.length, 300);
    assert.equal(new Set(claimed).size, 300);
    assert.deepEqual(await a.claimOutbox('late', 10, 60_000, 3_000), []);
  });

  test('a claim whose lease expired is re-claimed by another owner', async () => {
    const [a, b] = await twoReplicas();
    await a.transact('run-1', (tx) => tx.enqueue([makeSpan('run-1', 'span 7')], 1_000));
    const first = await a.claimOutbox('replica-a', 10, 1_000, 2_000);
    assert.equal(first.length, 1);
    assert.equal(typeof first[0].id, 'number');
    assert.deepEqual(await b.claimOutbox('replica-b', 10, 1_000, 2_500), []);
    const second = await b.claimOutbox('replica-b', 10, 1_000, 3_001);
    assert.deepEqual(
      second.map((r) => [r.id, r.run_id, r.created_at, r.attempts, r.span.name]),
      [[first[0].id, 'run-1', 1_000, 0, 'span 7']],
    );
    assert.deepEqual(await a.claimOutbox('replica-a', 10, 1_000, 3_500), []);
    await b.ackOutbox([second[0].id]);
    assert.equal((await a.outboxStats(4_000)).depth, 0);
  });

  test('three replicas running init() at once on a fresh schema migrate it once', async () => {
    const schema = newSchema();
    const stores = [openStore(schema, 2), openStore(schema, 2), openStore(schema, 2)];
    await Promise.all(stores.map((s) => s.init()));
    await stores[0].init();
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ version: number }>(`SELECT version FROM ${schema}.schema_version ORDER BY version`);
      assert.deepEqual(
        rows.map((r) => r.version),
        rows.map((_, i) => i + 1),
        'each migration recorded once, in order',
      );
      assert.ok(rows.length >= 1);
    } finally {
      await admin.end();
    }
    await stores[1].transact('run-x', (tx) => tx.saveRun(makeRun('run-x')));
    assert.equal((await stores[2].getRun('run-x'))?.run_id, 'run-x');
  });

  // A leaked connection would make the last transact wait forever on the one-connection pool.
  test('a failed transaction rolls back and gives its connection back to the pool', { timeout: 10_000 }, async () => {
    const store = openStore(newSchema(), 1);
    await store.init();
    for (let i = 0; i < 3; i++) {
      await assert.rejects(
        store.transact('run-y', async (tx) => {
          await tx.saveRun(makeRun('run-y'));
          await tx.enqueue([makeSpan('run-y', `span ${i}`)], 1_000);
          throw new Error(`boom ${i}`);
        }),
        { message: `boom ${i}` },
      );
    }
    assert.equal(await store.getRun('run-y'), null);
    assert.equal((await store.outboxStats(1_000)).depth, 0);
    await store.transact('run-y', (tx) => tx.saveRun(makeRun('run-y')));
    assert.equal((await store.getRun('run-y'))?.status, 'running');
  });
});
