import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { PostgresStore } from '../src/store/postgres-store.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { encodeStoredSpan } from '../src/telemetry/otlp-span.js';
import { makeSpan, T0 } from './store-contract.js';
import { PG_URL, skipWithoutPostgres } from './support/postgres.js';

// Outbox rows written by versions that stored spans as JSON text, still in the store after an
// upgrade: claimed, they carry the same encoded span and record as rows written now.

const legacy = makeSpan('run-old', 'from an earlier version');
const skip = await skipWithoutPostgres();
const schema = `legacy_${process.pid}_${randomBytes(4).toString('hex')}`;

describe('outbox rows stored as JSON text before the upgrade', () => {
  it('SQLite: a TEXT row is claimed next to a new one, encoded on read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oprelay-legacy-'));
    try {
      const first = SqliteStore.inDataDir(dir);
      await first.init();
      await first.close();
      const db = new Database(join(dir, 'oprelay-bridge.sqlite'));
      db.prepare('INSERT INTO outbox (run_id, created_at, next_attempt_at, span) VALUES (?, ?, ?, ?)').run(
        'run-old',
        T0,
        T0,
        JSON.stringify(legacy),
      );
      db.close();

      const store = SqliteStore.inDataDir(dir);
      await store.init();
      try {
        const fresh = makeSpan('run-new', 'written now');
        await store.transact('run-new', (tx) => tx.enqueue([fresh], T0));
        const rows = await store.claimOutbox('relay', 10, 60_000, T0 + 1000);
        assert.deepEqual(
          rows.map((r) => r.span),
          [legacy, fresh],
        );
        assert.deepEqual(Buffer.from(rows[0]!.stored), encodeStoredSpan(legacy));
        assert.deepEqual(Buffer.from(rows[1]!.stored), encodeStoredSpan(fresh));
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  after(async () => {
    if (skip) return;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  it('Postgres: the migration to bytea keeps a text row, which is then claimed and encoded', { skip }, async () => {
    const first = new PostgresStore(PG_URL, { schema });
    await first.init();
    await first.close();
    // back to the schema before the migration to bytea (the one before the newest, the usage timeline's
    // table, which is created only if missing), with a row as an earlier version wrote it
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      await admin.query(`ALTER TABLE ${schema}.outbox ALTER COLUMN span TYPE text USING convert_from(span, 'UTF8')`);
      await admin.query(`ALTER TABLE ${schema}.dead_letters ALTER COLUMN span TYPE text USING convert_from(span, 'UTF8')`);
      await admin.query(`DELETE FROM ${schema}.schema_version WHERE version >= (SELECT MAX(version) - 1 FROM ${schema}.schema_version)`);
      await admin.query(`INSERT INTO ${schema}.outbox (run_id, created_at, next_attempt_at, span) VALUES ($1, $2, $2, $3)`, [
        'run-old',
        T0,
        JSON.stringify(legacy),
      ]);
    } finally {
      await admin.end();
    }

    const store = new PostgresStore(PG_URL, { schema });
    await store.init(); // runs the migration to bytea
    try {
      const rows = await store.claimOutbox('relay', 10, 60_000, T0 + 1000);
      assert.equal(rows.length, 1);
      assert.deepEqual(rows[0]!.span, legacy);
      assert.deepEqual(Buffer.from(rows[0]!.stored), encodeStoredSpan(legacy));
      await store.deadLetter([rows[0]!.id], 'HTTP 400: test', T0 + 2000);
      const dead = await store.listDeadLetters(10);
      assert.deepEqual(
        dead.map((d) => d.span.name),
        ['from an earlier version'],
      );
    } finally {
      await store.close();
    }
  });
});
