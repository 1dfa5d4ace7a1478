import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RunRecord } from '../runs/model.js';
import { runIdOf, type SpanRecord, type StoredEvent } from '../telemetry/span-record.js';
import { SqliteCheckpointer } from './sqlite-checkpointer.js';
import { MIGRATIONS } from './sqlite-migrations.js';
import { listRunsSql } from './sqlite-list-sql.js';
import {
  type ActiveRuns,
  Mutex,
  encodeCursor,
  type ApiKeyRecord,
  type DeadLetterRow,
  StoredOutboxRow,
  deadLetterRow,
  type OutboxRow,
  type RunQuery,
  type RunStore,
  type StoreTx,
  runColumns,
} from './run-store.js';

/** How often the checkpointer thread copies the WAL into the database file. */
const CHECKPOINT_INTERVAL_MS = 500;
/** WAL size (4 KiB pages) at which a COMMIT checkpoints itself, should the checkpointer fall behind. */
const SAFETY_CHECKPOINT_PAGES = 20_000;

/** Spans written by one INSERT at most. */
const ENQUEUE_CHUNK = 16;

/** Calls committed together at most (group commit). */
const MAX_GROUP = 256;

interface RunRow {
  doc: string;
}

/** Embedded single-node store: better-sqlite3, WAL, one writer at a time. */
export class SqliteStore implements RunStore {
  readonly kind = 'sqlite' as const;
  private db: Database.Database;
  private mutex = new Mutex();
  private waiting: { done: () => void; fail: (err: unknown) => void }[] = [];
  /**
   * Outbox leases by row id. One process owns an SQLite file, so leases live here rather than in
   * the table: claiming a batch reads rows without rewriting them.
   */
  private leases = new Map<number, number>();
  private enqueueStatements: Database.Statement[] = [];
  private checkpointer: SqliteCheckpointer | undefined;
  private stmts!: ReturnType<SqliteStore['prepare']>;

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(join(file, '..'), { recursive: true });
    this.db = new Database(file);
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
    return new SqliteStore(join(dataDir, 'oprelay-bridge.sqlite'));
  }

  async init(): Promise<void> {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    const row = this.db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as { v: number | null };
    const current = row.v ?? 0;
    for (let i = current; i < MIGRATIONS.length; i++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[i]);
        this.db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(i + 1);
      }).immediate();
    }
    // one node owns an SQLite file: leases left by a crashed process need not wait to expire
    this.db.exec('UPDATE outbox SET lease_owner = NULL, lease_until = NULL WHERE lease_owner IS NOT NULL');
    this.stmts = this.prepare();
    this.checkpointer?.start();
  }

  private prepare() {
    const db = this.db;
    return {
      getRun: db.prepare<[string], RunRow>('SELECT doc FROM runs WHERE run_id = ?'),
      upsertRun: db.prepare(
        `INSERT INTO runs (run_id, project_key, agent_id, status, started_at, last_activity_at, cost_usd, parent_run_id, doc)
         VALUES (@run_id, @project_key, @agent_id, @status, @started_at, @last_activity_at, @cost_usd, @parent_run_id, @doc)
         ON CONFLICT(run_id) DO UPDATE SET project_key = excluded.project_key, agent_id = excluded.agent_id,
           status = excluded.status, started_at = excluded.started_at, last_activity_at = excluded.last_activity_at,
           cost_usd = excluded.cost_usd, parent_run_id = excluded.parent_run_id, doc = excluded.doc`,
      ),
      // a report changes only these columns: updating just them leaves the other indexes untouched
      updateActivity: db.prepare('UPDATE runs SET last_activity_at = ?, doc = ? WHERE run_id = ?'),
      updateActivityCost: db.prepare('UPDATE runs SET last_activity_at = ?, cost_usd = ?, doc = ? WHERE run_id = ?'),
      appendEvent: db.prepare('INSERT INTO run_events (run_id, seq, event) VALUES (?, ?, ?)'),
      events: db.prepare<[string], { event: string }>('SELECT event FROM run_events WHERE run_id = ? ORDER BY seq'),
      dropEvents: db.prepare('DELETE FROM run_events WHERE run_id = ?'),
      getIdem: db.prepare<[string, number], { response: string; request_hash: string | null }>(
        'SELECT response, request_hash FROM idempotency WHERE scope = ? AND created_at >= ?',
      ),
      putIdem: db.prepare('INSERT OR REPLACE INTO idempotency (scope, created_at, response, request_hash) VALUES (?, ?, ?, ?)'),
      activeRuns: db.prepare<[], { project_key: string; n: number; oldest: number }>(
        "SELECT project_key, COUNT(*) AS n, MIN(started_at) AS oldest FROM runs WHERE status = 'running' GROUP BY project_key",
      ),
      stale: db.prepare<[number, number, number], { run_id: string }>(
        `SELECT run_id FROM runs WHERE status = 'running' AND last_activity_at < ?
         UNION SELECT run_id FROM runs WHERE status = 'running' AND started_at < ? LIMIT ?`,
      ),
      outboxStats: db.prepare<[], { depth: number; oldest: number | null }>(
        'SELECT COUNT(*) AS depth, MIN(created_at) AS oldest FROM outbox',
      ),
      due: db.prepare<[number, number], OutboxDbRow>(
        'SELECT id, run_id, created_at, attempts, span FROM outbox WHERE next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?',
      ),
      ack: db.prepare('DELETE FROM outbox WHERE id = ?'),
      ackMany: db.prepare('DELETE FROM outbox WHERE id IN (SELECT value FROM json_each(?))'),
      retry: db.prepare('UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ? WHERE id = ?'),
      begin: db.prepare('BEGIN IMMEDIATE'),
      commit: db.prepare('COMMIT'),
      savepoint: db.prepare('SAVEPOINT call'),
      release: db.prepare('RELEASE call'),
      toDead: db.prepare(
        `INSERT INTO dead_letters (run_id, created_at, dead_at, attempts, reason, span)
         SELECT run_id, created_at, ?, attempts + 1, ?, span FROM outbox WHERE id = ?`,
      ),
      insertDead: db.prepare(
        'INSERT INTO dead_letters (run_id, created_at, dead_at, attempts, reason, span) VALUES (?, ?, ?, 1, ?, ?)',
      ),
      expire: db.prepare('DELETE FROM outbox WHERE created_at < ?'),
      listDead: db.prepare<[number], DeadDbRow>(
        'SELECT id, run_id, created_at, dead_at, attempts, reason, span FROM dead_letters ORDER BY id LIMIT ?',
      ),
      countDead: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM dead_letters'),
      purgeIdem: db.prepare('DELETE FROM idempotency WHERE created_at < ?'),
      putKey: db.prepare(
        'INSERT INTO api_keys (id, hash, projects, created_at, revoked_at, label, scope) VALUES (@id, @hash, @projects, @created_at, @revoked_at, @label, @scope)',
      ),
      listKeys: db.prepare<[], KeyDbRow>('SELECT * FROM api_keys ORDER BY created_at'),
      revokeKey: db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    };
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
    const read = new Map<string, IndexedColumns>();
    const tx: StoreTx = {
      getRun: async (runId) => {
        const run = parseRun(s.getRun.get(runId));
        if (run) read.set(runId, indexedColumns(run));
        return run;
      },
      saveRun: async (run) => {
        const before = read.get(run.run_id);
        const after = indexedColumns(run);
        if (!before || !sameStaticColumns(before, after)) return void s.upsertRun.run(runColumns(run));
        if (before.cost_usd === after.cost_usd) s.updateActivity.run(run.last_activity_at, JSON.stringify(run), run.run_id);
        else s.updateActivityCost.run(run.last_activity_at, run.totals.cost_usd, JSON.stringify(run), run.run_id);
      },
      appendEvent: async (runId, seq, event) => void s.appendEvent.run(runId, seq, JSON.stringify(event)),
      takeEvents: async (runId) => {
        const events = s.events.all(runId).map((r) => JSON.parse(r.event) as StoredEvent);
        s.dropEvents.run(runId);
        return events;
      },
      enqueue: async (spans, now) => {
        for (let i = 0; i < spans.length; i += ENQUEUE_CHUNK) {
          const chunk = spans.slice(i, i + ENQUEUE_CHUNK);
          const values: (string | number | null)[] = [];
          for (const span of chunk) values.push(runIdOf(span), now, now, JSON.stringify(span));
          this.enqueueStatement(chunk.length).run(values);
        }
      },
      getIdempotent: async (scope, notBefore) => {
        const row = s.getIdem.get(scope, notBefore);
        return row ? { response: JSON.parse(row.response) as unknown, request_hash: row.request_hash } : undefined;
      },
      putIdempotent: async (scope, answer, now) => void s.putIdem.run(scope, now, JSON.stringify(answer.response), answer.request_hash),
    };
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

  activeRuns(): Promise<Map<string, ActiveRuns>> {
    return this.read(() => new Map(this.stmts.activeRuns.all().map((r) => [r.project_key, { count: r.n, oldestStartedAt: r.oldest }])));
  }

  findStaleRuns(idleBefore: number, startedBefore: number, limit: number): Promise<string[]> {
    return this.read(() => this.stmts.stale.all(idleBefore, startedBefore, limit).map((r) => r.run_id));
  }

  outboxStats(now: number): Promise<{ depth: number; oldestAgeMs: number | null }> {
    return this.read(() => {
      const r = this.stmts.outboxStats.get()!;
      return { depth: r.depth, oldestAgeMs: r.oldest === null ? null : Math.max(0, now - r.oldest) };
    });
  }

  claimOutbox(_owner: string, limit: number, leaseMs: number, now: number): Promise<OutboxRow[]> {
    return this.exclusive(async () => {
      for (const [id, until] of this.leases) if (until < now) this.leases.delete(id);
      const rows: OutboxRow[] = [];
      for (const r of this.stmts.due.all(now, limit + this.leases.size)) {
        if (rows.length === limit) break;
        if (this.leases.has(r.id)) continue;
        this.leases.set(r.id, now + leaseMs);
        rows.push(toOutboxRow(r));
      }
      return rows;
    });
  }

  private release(ids: number[]): void {
    for (const id of ids) this.leases.delete(id);
  }

  ackOutbox(ids: number[]): Promise<void> {
    return this.exclusive(async () => {
      this.stmts.ackMany.run(JSON.stringify(ids));
      this.release(ids);
    });
  }

  /** One INSERT of n outbox rows: a call's spans go in with one statement. */
  private enqueueStatement(n: number): Database.Statement {
    let stmt = this.enqueueStatements[n];
    if (!stmt) {
      const rows = Array.from({ length: n }, () => '(?, ?, ?, ?)').join(', ');
      stmt = this.enqueueStatements[n] = this.db.prepare(`INSERT INTO outbox (run_id, created_at, next_attempt_at, span) VALUES ${rows}`);
    }
    return stmt;
  }

  retryOutbox(ids: number[], nextAttemptAt: number): Promise<void> {
    return this.exclusive(async () => {
      this.db.transaction(() => ids.forEach((id) => this.stmts.retry.run(nextAttemptAt, id)))();
      this.release(ids);
    });
  }

  deadLetter(ids: number[], reason: string, now: number): Promise<void> {
    return this.exclusive(async () => {
      this.db.transaction(() => {
        for (const id of ids) {
          this.stmts.toDead.run(now, reason, id);
          this.stmts.ack.run(id);
        }
      })();
      this.release(ids);
    });
  }

  recordDeadLetters(spans: SpanRecord[], reason: string, now: number): Promise<void> {
    return this.exclusive(async () =>
      this.db.transaction(() => {
        for (const span of spans) this.stmts.insertDead.run(runIdOf(span), now, now, reason, JSON.stringify(span));
      })(),
    );
  }

  expireOutbox(createdBefore: number): Promise<number> {
    return this.exclusive(async () => this.stmts.expire.run(createdBefore).changes);
  }

  async listDeadLetters(limit: number): Promise<DeadLetterRow[]> {
    return this.stmts.listDead.all(limit).map((r) => deadLetterRow(toOutboxRow(r), r.dead_at, r.reason));
  }

  async countDeadLetters(): Promise<number> {
    return this.stmts.countDead.get()!.n;
  }

  replayDeadLetters(ids?: number[]): Promise<number> {
    return this.exclusive(async () =>
      this.db.transaction(() => {
        const filter = ids ? `WHERE id IN (${ids.map(() => '?').join(',')})` : '';
        const now = Date.now();
        const moved = this.db
          .prepare(
            `INSERT INTO outbox (run_id, created_at, next_attempt_at, attempts, span)
             SELECT run_id, ?, ?, 0, span FROM dead_letters ${filter} ORDER BY id`,
          )
          .run(now, now, ...(ids ?? [])).changes;
        this.db.prepare(`DELETE FROM dead_letters ${filter}`).run(...(ids ?? []));
        return moved;
      })(),
    );
  }

  purgeIdempotency(before: number): Promise<number> {
    return this.exclusive(async () => this.stmts.purgeIdem.run(before).changes);
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

interface OutboxDbRow {
  id: number;
  run_id: string | null;
  created_at: number;
  attempts: number;
  span: string;
}
interface DeadDbRow extends OutboxDbRow {
  dead_at: number;
  reason: string;
}
interface KeyDbRow extends Omit<ApiKeyRecord, 'projects'> {
  projects: string;
}

function toOutboxRow(r: OutboxDbRow): OutboxRow {
  return new StoredOutboxRow(r.id, r.run_id, r.created_at, r.attempts, r.span);
}

type IndexedColumns = Pick<RunRecord, 'project_key' | 'agent_id' | 'status' | 'started_at' | 'parent_run_id'> & { cost_usd: number };

function indexedColumns(r: RunRecord): IndexedColumns {
  const { project_key, agent_id, status, started_at, parent_run_id } = r;
  return { project_key, agent_id, status, started_at, parent_run_id, cost_usd: r.totals.cost_usd };
}

/** True when a save changes none of the indexed columns but activity time and cost. */
function sameStaticColumns(a: IndexedColumns, b: IndexedColumns): boolean {
  return (
    a.project_key === b.project_key &&
    a.agent_id === b.agent_id &&
    a.status === b.status &&
    a.started_at === b.started_at &&
    a.parent_run_id === b.parent_run_id
  );
}

function parseRun(row: RunRow | undefined): RunRecord | null {
  return row ? (JSON.parse(row.doc) as RunRecord) : null;
}
