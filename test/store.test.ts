import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../src/store/memory-store.js';
import type { RunStore } from '../src/store/run-store.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { T0, makeSpan, runStoreContract } from './store-contract.js';

runStoreContract('memory', async () => new MemoryStore());

// A fresh file per describe block (not ':memory:') so WAL mode is exercised.
const sqliteDirs = new Map<RunStore, string>();
runStoreContract(
  'sqlite',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'oprelay-store-'));
    const store = new SqliteStore(join(dir, 'bridge.sqlite'));
    sqliteDirs.set(store, dir);
    return store;
  },
  async (store) => {
    await rm(sqliteDirs.get(store)!, { recursive: true, force: true });
    sqliteDirs.delete(store);
  },
);

// --- postgres: entry to be added here (runStoreContract('postgres', makeStore, cleanup)) ---
// makeStore is called once per describe block and must return a new, empty, un-initialised store
// (e.g. a fresh schema per call); cleanup runs after close() and should drop what makeStore made.

describe('sqlite: WAL checkpoints on the checkpointer thread', () => {
  it('copies committed pages into the database file without any COMMIT doing it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'oprelay-ckpt-'));
    const file = join(dir, 'bridge.sqlite');
    const store = new SqliteStore(file);
    const reader = new Database(file);
    try {
      await store.init();
      // settle the migrations' pages, then hold a read snapshot: while it is open no checkpoint, by
      // a COMMIT or by the thread, can copy anything newer into the file, so timing plays no part
      const settled = () => {
        const [r] = reader.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
        return r!.busy === 0 && r!.checkpointed === r!.log;
      };
      for (let tries = 0; !settled(); tries++) {
        assert.ok(tries < 300, 'the WAL could be checkpointed before the test');
        await new Promise((r) => setTimeout(r, 100));
      }
      reader.exec('BEGIN');
      reader.prepare('SELECT COUNT(*) FROM sqlite_master').get();
      const before = statSync(file).size;
      // ~4 MiB of spans: far below the 80 MB at which a COMMIT would checkpoint by itself
      for (let i = 0; i < 50; i++) {
        const spans = Array.from({ length: 100 }, (_, j) => ({
          ...makeSpan('run-ck', `s${i}-${j}`),
          attributes: { 'oprelay.run.id': 'run-ck', pad: 'x'.repeat(800) },
        }));
        await store.transact('run-ck', (tx) => tx.enqueue(spans, T0));
      }
      assert.equal(statSync(file).size, before, 'the committed spans are in the WAL only');
      reader.exec('COMMIT');
      // no COMMIT happens from here on: only the checkpointer thread can grow the file
      const deadline = Date.now() + 30_000;
      while (statSync(file).size <= before + 4_000_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.ok(statSync(file).size > before + 4_000_000, `the checkpointer grew the file from ${before} to ${statSync(file).size} bytes`);
      assert.equal((await store.outboxStats(T0)).depth, 5000);
    } finally {
      reader.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
