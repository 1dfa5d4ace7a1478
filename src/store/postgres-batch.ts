import pg from 'pg';
import { CachedCommits, MAX_CALLS, RETRY, RunDocCache, commitPipelined, type Ended } from './postgres-cached.js';
import { RUN_LOCK_SPACE, named, pgArray, sendAll } from './postgres-sql.js';
import { PostgresTx, writeAll } from './postgres-tx.js';
import type { StoreTx } from './run-store.js';

const WAIT_LOCK_SQL = 'SELECT $2::text AS key, true AS locked FROM pg_advisory_xact_lock($1, hashtext($2))';
// one row per key, locks tried in the keys' order
const TRY_LOCKS_SQL = `SELECT key, pg_try_advisory_xact_lock($1, hashtext(key)) AS locked
  FROM unnest($2::text[]) WITH ORDINALITY AS k(key, n) ORDER BY n`;
const READS_SQL = 'SELECT run_id, doc FROM runs WHERE run_id = ANY($1::text[])';

/**
 * Group commit for store transactions. A call joins the transaction that is still young (none of its
 * calls has finished yet) instead of opening its own: one BEGIN, one write statement and one COMMIT
 * (one WAL flush) for all of them, and every call answers only after that COMMIT.
 *
 * Locking stays per run, across replicas: each call takes its run's advisory lock in the shared
 * transaction, which holds it until COMMIT. A shared transaction never waits for a lock (it only
 * tries, so two of them can never deadlock); a call whose run is locked elsewhere, and every call
 * of a shared transaction that failed, runs again alone in a transaction of its own that waits for
 * the lock — as every call did before. Within the process, calls on one key run one after another,
 * so a shared transaction holds at most one call per key. Reads change nothing and writes are held
 * by each call (PostgresTx), so a call that throws just drops its writes: no savepoints needed.
 *
 * A run this process committed or read under its lock before is cached: its next call skips the
 * lock statement and the read, and commits in one round trip (CachedCommits); it comes back here
 * when the cached document no longer holds.
 */
export class PostgresBatcher {
  private open: Batch | undefined;
  /** per lock key, settles when the key's latest call is over (committed or failed) */
  private readonly tails = new Map<string, Promise<void>>();
  private readonly cache = new RunDocCache();
  private readonly cached: CachedCommits;

  constructor(private readonly pool: pg.Pool) {
    this.cached = new CachedCommits(pool, this.cache);
  }

  async transact<T>(key: string, fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    let release!: () => void;
    const turn = new Promise<void>((resolve) => (release = resolve));
    const previous = this.tails.get(key);
    this.tails.set(key, turn);
    try {
      if (previous) await previous;
      const doc = this.cached.on ? this.cache.get(key) : undefined;
      if (doc !== undefined) {
        const fast = await this.cached.call(key, doc, fn);
        if (fast !== RETRY) return fast.value;
      }
      this.cache.delete(key);
      if (!this.open?.joinable) this.open = new Batch(this.pool, false, this.cache);
      const shared = await this.open.call(key, fn);
      if (shared !== RETRY) return shared.value;
      const alone = await new Batch(this.pool, true, this.cache).call(key, fn);
      if (alone === RETRY) throw new Error('postgres transaction: lock not taken'); // a lone call waits for its lock
      return alone.value;
    } catch (err) {
      this.cache.delete(key);
      throw err;
    } finally {
      release();
      if (this.tails.get(key) === turn) this.tails.delete(key);
    }
  }
}

/** One transaction on one pooled connection, for one call (`alone`) or for several. */
class Batch {
  private readonly client: Promise<pg.PoolClient>;
  private calls = 0;
  private running = 0;
  private closed = false;
  private readonly finished: PostgresTx[] = [];
  /** whether BEGIN went out (with the first calls' locks) */
  private begun = false;
  /** calls waiting for their lock to be sent */
  private locking: { key: string; resolve: (r: { ok: boolean; doc: string | null }) => void; reject: (err: unknown) => void }[] = [];
  private settle!: (ended: Ended) => void;
  private readonly ended = new Promise<Ended>((resolve) => (this.settle = resolve));

  constructor(
    pool: pg.Pool,
    private readonly alone: boolean,
    private readonly cache: RunDocCache,
  ) {
    this.client = pool.connect();
    this.client.catch(() => undefined);
  }

  get joinable(): boolean {
    return !this.alone && !this.closed && this.calls < MAX_CALLS;
  }

  async call<T>(key: string, fn: (tx: StoreTx) => Promise<T>): Promise<{ value: T } | typeof RETRY> {
    this.calls++;
    this.running++;
    let tx: PostgresTx | undefined;
    let value: T;
    try {
      const client = await this.client;
      const locked = await this.lock(client, key);
      if (!locked.ok) {
        this.finish(undefined);
        return RETRY;
      }
      tx = new PostgresTx(client, key, locked.doc);
      value = await fn(tx);
    } catch (err) {
      this.finish(undefined);
      // answer after the transaction ended, so that its lock on the run is gone by then
      await this.ended;
      if (!this.alone && err instanceof pg.DatabaseError) return RETRY;
      throw err;
    }
    this.finish(tx);
    const ended = await this.ended;
    if (ended.ok) {
      for (const [id, c] of tx.runs) this.cache.set(id, c.doc);
      if (!tx.runs.has(key) && tx.lockedDoc !== null) this.cache.set(key, tx.lockedDoc);
      return { value };
    }
    if (ended.retry) return RETRY;
    throw ended.error;
  }

  /**
   * Takes the call's run lock (waiting for it when alone, else only if free) and reads the run. The
   * calls that join in one turn of the event loop send this together: one statement for their
   * locks, then one reading their runs — its own statement, so its READ COMMITTED snapshot is taken
   * with the locks held and sees the previous holders' commits. The lock also covers a run not
   * created yet.
   */
  private lock(client: pg.PoolClient, key: string): Promise<{ ok: boolean; doc: string | null }> {
    return new Promise((resolve, reject) => {
      if (this.locking.push({ key, resolve, reject }) === 1) setImmediate(() => this.sendLocks(client));
    });
  }

  private sendLocks(client: pg.PoolClient): void {
    const calls = this.locking;
    this.locking = [];
    const keys = calls.map((c) => c.key);
    const sent = sendAll(client, [
      ...(this.begun ? [] : ['BEGIN']),
      this.alone ? named(WAIT_LOCK_SQL, [RUN_LOCK_SPACE, keys[0]]) : named(TRY_LOCKS_SQL, [RUN_LOCK_SPACE, pgArray('text', keys)]),
      named(READS_SQL, [pgArray('text', keys)]),
    ]);
    // BEGIN fails only with the connection, and then so does every statement behind it
    if (!this.begun) sent.shift()!.catch(() => undefined);
    this.begun = true;
    const [locks, reads] = sent;
    Promise.all([locks!, reads!]).then(
      ([l, r]) => {
        const locked = new Set(l.rows.filter((row) => row.locked === true).map((row) => row.key as string));
        const docs = new Map(r.rows.map((row) => [row.run_id as string, row.doc as string]));
        for (const c of calls) c.resolve({ ok: locked.has(c.key), doc: docs.get(c.key) ?? null });
      },
      (err: unknown) => calls.forEach((c) => c.reject(err)),
    );
  }

  /** A call is done with its work (tx: its writes, when it succeeded); the last one ends the transaction. */
  private finish(tx: PostgresTx | undefined): void {
    if (tx?.dirty) this.finished.push(tx);
    // Only calls arriving before any has finished join: a call waits at most for the ones that
    // started with it.
    this.closed = true;
    if (--this.running === 0) void this.end();
  }

  private async end(): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await this.client;
    } catch (error) {
      this.settle({ ok: false, retry: false, error });
      return;
    }
    if (!this.begun) {
      client.release();
      this.settle({ ok: true });
      return;
    }
    const write = writeAll(this.finished);
    const ended = await commitPipelined(client, write ? [write, 'COMMIT'] : ['COMMIT'], !this.alone);
    this.settle(ended.ok ? { ok: true } : ended);
  }
}
