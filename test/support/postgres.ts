import pg from 'pg';
import { skipWhenMissing } from './required-service.js';

/** The real PostgreSQL the Postgres tests use (CI has it on 127.0.0.1:5432). */
export const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Why the server cannot be used, or undefined when it answers. */
export async function postgresUnreachable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** `false` when PostgreSQL answers; otherwise the skip reason (and in CI, a thrown failure). */
export async function skipWithoutPostgres(): Promise<string | false> {
  const problem = await postgresUnreachable();
  return skipWhenMissing('PostgreSQL', problem && `${PG_URL} is not reachable (${problem})`);
}
