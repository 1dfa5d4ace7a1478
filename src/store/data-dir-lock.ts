import Database from 'better-sqlite3';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ensureDataDir } from './data-dir.js';

interface Holder {
  pid: number;
  host: string;
  since: string;
}

/**
 * One serving bridge per SQLite data directory. The lock is a write transaction held open on a
 * small SQLite file next to the store: the operating system drops it when its process ends, even
 * by SIGKILL or a crash, so a stale lock never blocks a restart. The holder's pid, host and start
 * time are written there first, for the refusal message. CLI commands (`keys`, `outbox`) do not
 * take it: they may run beside a serving bridge.
 */
export class DataDirLock {
  private constructor(private readonly db: Database.Database) {}

  static acquire(dataDir: string): DataDirLock {
    ensureDataDir(dataDir);
    // timeout 0: a lock held by another process is an answer, not something to wait for
    const db = new Database(join(dataDir, 'oprelay-bridge.lock'), { timeout: 0 });
    try {
      if (!tryBegin(db)) throw new DataDirInUse(dataDir, holderOf(db));
      db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, host TEXT NOT NULL, since TEXT NOT NULL)');
      db.exec('DELETE FROM holder');
      db.prepare('INSERT INTO holder (pid, host, since) VALUES (?, ?, ?)').run(process.pid, hostname(), new Date().toISOString());
      db.exec('COMMIT');
      // held from here until release() or the process's end; another bridge may have come in between
      if (!tryBegin(db)) throw new DataDirInUse(dataDir, holderOf(db));
      return new DataDirLock(db);
    } catch (err) {
      if (db.inTransaction) db.exec('ROLLBACK');
      db.close();
      throw err;
    }
  }

  release(): void {
    if (!this.db.open) return;
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
    this.db.close();
  }
}

export class DataDirInUse extends Error {
  constructor(dataDir: string, holder: Holder | undefined) {
    const who = holder ? `pid ${holder.pid} on ${holder.host}, since ${holder.since}` : 'a bridge starting up';
    super(
      `data directory ${dataDir} is in use by another bridge (${who}); stop that one first, or give this one its own ` +
        'BRIDGE_DATA_DIR (replicas share a Postgres store, not a SQLite file)',
    );
  }
}

/** BEGIN IMMEDIATE (a write lock), false when another connection holds it. */
function tryBegin(db: Database.Database): boolean {
  try {
    db.exec('BEGIN IMMEDIATE');
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_BUSY') return false;
    throw err;
  }
}

function holderOf(db: Database.Database): Holder | undefined {
  try {
    return db.prepare<[], Holder>('SELECT pid, host, since FROM holder').get();
  } catch {
    return undefined; // the holder is between creating the file and writing itself down
  }
}
