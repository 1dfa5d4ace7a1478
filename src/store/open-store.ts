import type { Config } from '../config.js';
import type { RunStore } from './run-store.js';

/** BRIDGE_STORE → a store: `sqlite` (default, under BRIDGE_DATA_DIR), `memory` (tests), `postgres://…`. */
export async function openStore(config: Pick<Config, 'store' | 'dataDir'>): Promise<RunStore> {
  if (config.store === 'memory') {
    const { MemoryStore } = await import('./memory-store.js');
    return new MemoryStore();
  }
  if (config.store === 'sqlite') {
    const { SqliteStore } = await import('./sqlite-store.js');
    return SqliteStore.inDataDir(config.dataDir);
  }
  const { PostgresStore } = await import('./postgres-store.js');
  return new PostgresStore(config.store);
}
