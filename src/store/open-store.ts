import type { Config } from '../config.js';
import type { RunStore } from './run-store.js';

/**
 * BRIDGE_STORE → a store: `sqlite` (default, under BRIDGE_DATA_DIR), `memory` (tests), `postgres://…`.
 * A postgres URL may carry `?schema=NAME`: the bridge then keeps its tables in that schema (created
 * if missing), so several deployments — or test runs — can share one database.
 */
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
  const { url, schema } = splitSchema(config.store);
  return new PostgresStore(url, { schema });
}

/** Takes the bridge's own `schema` parameter out of a postgres URL (the driver would pass it on). */
export function splitSchema(store: string): { url: string; schema?: string } {
  const url = new URL(store);
  const schema = url.searchParams.get('schema') ?? undefined;
  url.searchParams.delete('schema');
  return { url: url.toString(), schema: schema || undefined };
}
