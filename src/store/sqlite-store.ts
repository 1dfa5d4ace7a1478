import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RunRecord, UsageEntry } from '../runs/model.js';
import type { SpanRecord } from '../telemetry/span-record.js';
import { ensureDataDir } from './data-dir.js';
import { SqliteCheckpointer } from './sqlite-checkpointer.js';
import { SqliteRetention } from './sqlite-retention.js';
import { MIGRATIONS } from './sqlite-migrations.js';
import { listRunsSql } from './sqlite-list-sql.js';
import { SqliteOutbox } from './sqlite-outbox.js';
import { EnqueueStatements, prepareStatements, type RunRow, type SqliteStatements } from './sqlite-statements.js';
import { parseRun, sqliteTx } from './sqlite-tx.js';
import {
  type ActiveRuns,
  Mutex,
  encodeCursor,
  type ApiKeyRecord,
  type DeadLetterRow,
  type OutboxRow,
  type RunQuery,
  type RunStore,
  type StoreTx,
} from './run-store.js';
import type { FailedRunsQuery, UsageGroup, UsageQuery } from './run-store.js';
import { failedRunsIn, usageSummaryIn } from './sqlite-usage.js';

/** How often the checkpointer thread copies the WAL into the database file. */
const CHECKPOINT_INTERVAL_MS = 500;
/** WAL size (4 KiB pages) at which a COMMIT checkpoints itself, should the checkpointer fall behind. */
const SAFETY_CHECKPOINT_PAGES = 20_000;

/** Calls committed together at most (group commit). */
const MAX_GROUP = 256;

/** Embedded single-node store: better-sqlite3, WAL, one writer at a time. */
export class SqliteStore implements RunStore {
  readonly kind = 'sqlite' as const;
  private db: Database.Database;
  private mutex = new Mutex();
  private waiting: { done: () => void; fail: (err: unknown) => void }[] = [];
  private enqueueStatements: EnqueueStatements;
  private checkpointer: SqliteCheckpointer | undefined;
  private stmts!: SqliteStatements;
  private retention!: SqliteRetention;
  private outbox!: SqliteOutbox;

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(join(file, '..'), { recursive: true });
    this.db = new Database(file);
    this.enqueueStatements = new EnqueueStatements(this.db);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a commit survives a process crash; FULL would also survive power loss.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    if (file !== ':memory:') {
      // Checkpoints run on a worker thread (SqliteCheckpointer); this connection checkpoints only
      // as a safety net, should the WAL ever pass ~80 MB.
      this.db.pragma(`wal_autocheckpoint = ${SAFETY_CHECKPOINT_PAGES}`);
      this.checkpointer = new SqliteCheckpointer(file, CHECKPOINT_INTERVAL_MS, (error) =>
        process.emitWarning(`sqlite checkpoint failed: ${error}`),
      );
    }
  }

  static inDataDir(dataDir: string): SqliteStore {
    ensureDataDir(dataDir);
    return new SqliteStore(join(dataDir, 'oprelay-bridge.sqlite'));
  }

  async init(): Promise<void> {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    const row = this.db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as { v: number | null };
    const current = row.v ?? 0;
    for (let i = current; i < MIGRATIONS.length; i++) {
      this.db
        .transaction(() => {
          this.db.exec(MIGRATIONS[i]);
          this.db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(i + 1);
        })
        .immediate();
    }
    // one node owns an SQLite file: leases left by a crashed process need not wait to expire
    this.db.exec('UPDATE outbox SET lease_owner = NULL, lease_until = NULL WHERE lease_owner IS NOT NULL');
    this.stmts = prepareStatements(this.db);
    this.retention = new SqliteRetention(this.db);
    this.outbox = new SqliteOutbox(this.db, this.stmts);
    this.checkpointer?.start();
  }

  async close(): Promise<void> {
    await this.checkpointer?.stop();
    await this.exclusive(async () => this.db.close());
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  transact<T>(_runId: string, fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    const s = this.stmts;
    const tx = sqliteTx(s, this.enqueueStatements);
    return new Promise<T>((resolve, reject) => {
      void this.mutex.run(async () => {
        if (!this.db.inTransaction) {
          s.begin.run();
          setImmediate(() => void this.mutex.run(async () => this.commitBatch()));
        }
        s.savepoint.run();
        let result: T;
        try {
          result = await fn(tx);
          s.release.run();
        } catch (err) {
          if (this.db.inTransaction) this.db.exec('ROLLBACK TO call; RELEASE call');
          else this.failBatch(err); // SQLite aborted the whole transaction
          reject(err);
          return;
        }
        this.waiting.push({ done: () => resolve(result), fail: reject });
        if (this.waiting.length >= MAX_GROUP) this.commitBatch();
      });
    });
  }

  /**
   * Group commit: calls that queue up while a transaction is open join it, each in its own
   * savepoint (a failing call rolls back alone); nobody is answered before the COMMIT.
   */
  private commitBatch(): void {
    if (!this.db.inTransaction) return;
    const waiting = this.waiting;
    this.waiting = [];
    try {
      this.stmts.commit.run();
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      for (const w of waiting) w.fail(err);
      return;
    }
    for (const w of waiting) w.done();
  }

  private failBatch(err: unknown): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) w.fail(err);
  }

  /** Any other use of the connection first commits an open group, so it never sees uncommitted calls. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(async () => {
      this.commitBatch();
      return fn();
    });
  }

  /** Reads also queue behind the mutex, so they never see a transaction that has not committed. */
  private read<T>(fn: () => T): Promise<T> {
    return this.exclusive(async () => fn());
  }

  getRun(runId: string): Promise<RunRecord | null> {
    return this.read(() => parseRun(this.stmts.getRun.get(runId)));
  }

  usageTimeline(runId: string): Promise<UsageEntry[]> {
    return this.read(() => this.stmts.usageTimeline.all(runId).map((r) => JSON.parse(r.entry) as UsageEntry));
  }

  listRuns(q: RunQuery): Promise<{ runs: RunRecord[]; next_cursor: string | null }> {
    return this.read(() => this.listRunsNow(q));
  }

  private listRunsNow(q: RunQuery): { runs: RunRecord[]; next_cursor: string | null } {
    if (q.projects?.length === 0) return { runs: [], next_cursor: null };
    const { sql, params: args } = listRunsSql(q);
    const rows = this.db.prepare<(string | number)[], RunRow>(sql).all(...args);
    const runs = rows.slice(0, q.limit).map((r) => JSON.parse(r.doc) as RunRecord);
    const last = runs[runs.length - 1];
    const next_cursor =
      rows.length > q.limit && last ? encodeCursor(q.sort === 'cost' ? last.totals.cost_usd : last.started_at, last.run_id) : null;
    return { runs, next_cursor };
  }

  usageSummary(q: UsageQuery): Promise<UsageGroup[]> {
    return this.read(() => usageSummaryIn(this.db, q));
  }

  failedRuns(q: FailedRunsQuery): Promise<RunRecord[]> {
    return this.read(() => failedRunsIn(this.db, q));
  }

  activeRuns(): Promise<Map<string, ActiveRuns>> {
    return this.read(() => new Map(this.stmts.activeRuns.all().map((r) => [r.project_key, { count: r.n, oldestStartedAt: r.oldest }])));
  }

  findStaleRuns(idleBefore: number, startedBefore: number, limit: number): Promise<string[]> {
    return this.read(() => this.stmts.stale.all(idleBefore, startedBefore, limit).map((r) => r.run_id));
  }

  outboxStats(now: number): Promise<{ depth: number; oldestAgeMs: number | null }> {
    return this.read(() => this.outbox.stats(now));
  }

  claimOutbox(_owner: string, limit: number, leaseMs: number, now: number): Promise<OutboxRow[]> {
    return this.exclusive(async () => this.outbox.claim(limit, leaseMs, now));
  }

  ackOutbox(ids: number[]): Promise<void> {
    return this.exclusive(async () => this.outbox.ack(ids));
  }

  retryOutbox(ids: number[], nextAttemptAt: number): Promise<void> {
    return this.exclusive(async () => this.outbox.retry(ids, nextAttemptAt));
  }

  deadLetter(ids: number[], reason: string, now: number): Promise<void> {
    return this.exclusive(async () => this.outbox.deadLetter(ids, reason, now));
  }

  recordDeadLetters(spans: SpanRecord[], reason: string, now: number): Promise<void> {
    return this.exclusive(async () => this.outbox.recordDeadLetters(spans, reason, now));
  }

  expireOutbox(createdBefore: number): Promise<number> {
    return this.exclusive(async () => this.outbox.expire(createdBefore));
  }

  async listDeadLetters(limit: number): Promise<DeadLetterRow[]> {
    return this.outbox.listDeadLetters(limit);
  }

  async countDeadLetters(): Promise<number> {
    return this.outbox.countDeadLetters();
  }

  replayDeadLetters(ids?: number[]): Promise<number> {
    return this.exclusive(async () => this.outbox.replayDeadLetters(ids, Date.now()));
  }

  purgeIdempotency(before: number, limit?: number): Promise<number> {
    return this.exclusive(async () =>
      limit === undefined ? this.stmts.purgeIdem.run(before).changes : this.retention.purgeIdempotency(before, limit),
    );
  }

  deleteEndedRuns(endedBefore: number, limit: number): Promise<number> {
    return this.exclusive(async () => this.retention.deleteEndedRuns(endedBefore, limit));
  }

  putApiKey(key: ApiKeyRecord): Promise<void> {
    return this.exclusive(async () => void this.stmts.putKey.run({ ...key, projects: JSON.stringify(key.projects) }));
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return this.stmts.listKeys.all().map((r) => ({ ...r, projects: JSON.parse(r.projects) as string[] }));
  }

  revokeApiKey(id: string, now: number): Promise<boolean> {
    return this.exclusive(async () => this.stmts.revokeKey.run(now, id).changes > 0);
  }
}
