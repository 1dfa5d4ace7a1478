import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../src/store/memory-store.js';
import type { RunStore } from '../src/store/run-store.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { runStoreContract } from './store-contract.js';

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
