import type Database from 'better-sqlite3';
import { ENDED_STATUSES } from './run-store.js';

const ENDED = ENDED_STATUSES.map((s) => `'${s}'`).join(', ');

/**
 * Retention deletes on SQLite. Each call is one short write transaction removing at most `limit`
 * rows found through an index (runs_status_activity, idempotency_created), never by a scan, so a
 * batch holds the writer for about as long as a group of tool calls does.
 */
export class SqliteRetention {
  private readonly endedRuns: Database.Statement<[number, number], { run_id: string }>;
  private readonly events: Database.Statement<[string]>;
  private readonly usage: Database.Statement<[string]>;
  private readonly idempotency: Database.Statement<[number, number]>;
  private readonly deleteRuns: (endedBefore: number, limit: number) => number;

  constructor(db: Database.Database) {
    this.endedRuns = db.prepare(
      `DELETE FROM runs WHERE run_id IN
         (SELECT run_id FROM runs WHERE status IN (${ENDED}) AND last_activity_at < ? LIMIT ?)
       RETURNING run_id`,
    );
    this.events = db.prepare('DELETE FROM run_events WHERE run_id IN (SELECT value FROM json_each(?))');
    this.usage = db.prepare('DELETE FROM run_usage WHERE run_id IN (SELECT value FROM json_each(?))');
    this.idempotency = db.prepare('DELETE FROM idempotency WHERE rowid IN (SELECT rowid FROM idempotency WHERE created_at < ? LIMIT ?)');
    this.deleteRuns = db.transaction((endedBefore: number, limit: number) => {
      const ids = this.endedRuns.all(endedBefore, limit).map((r) => r.run_id);
      if (ids.length > 0) {
        this.events.run(JSON.stringify(ids));
        this.usage.run(JSON.stringify(ids));
      }
      return ids.length;
    });
  }

  deleteEndedRuns(endedBefore: number, limit: number): number {
    return this.deleteRuns(endedBefore, limit);
  }

  purgeIdempotency(before: number, limit: number): number {
    return this.idempotency.run(before, limit).changes;
  }
}
