import type pg from 'pg';
import { sendAll } from './postgres-sql.js';
import { NeedsLock, PostgresTx } from './postgres-tx.js';
import { writeCached } from './postgres-write-sql.js';
import type { StoreTx } from './run-store.js';

/** Most calls one transaction takes. */
export const MAX_CALLS = 32;
/** Transactions of cached runs committing at once; calls arriving meanwhile gather in the next one. */
const MAX_COMMITTING = 2;
/** Bounds the cached documents' total length (UTF-16 code units): about 8 MB at most. */
const MAX_CACHED_CHARS = 4_000_000;
/** How long a paused run (RunDocCache.pause) stays uncached, and how long the cache stays off once another writer was seen. */
const PAUSE_MS = 60_000;
/** Most paused runs remembered (the oldest forgotten first). */
const MAX_PAUSED = 10_000;

/** How a transaction ended for its calls: committed, to be run again holding locks, or failed. */
export type Ended = { ok: true } | { ok: false; retry: boolean; error: unknown };
/** A committed transaction of cached runs also names the runs it could not write (their calls run again). */
type CachedEnded = { ok: true; stale: Set<string> } | Exclude<Ended, { ok: true }>;
/** Why a call left a shared transaction: it must run again holding its run's lock. */
export const RETRY = Symbol('retry');

/**
 * Each run's document as this process last committed or read it under the run's lock; when the
 * cache is full, the runs written longest ago leave first. A document here may be stale (another
 * replica, the retention sweep): the write that uses it checks it (writeCached).
 */
export class RunDocCache {
  private readonly docs = new Map<string, string>();
  private chars = 0;
  /** runs not cached for a while (see pause), and until when */
  private readonly pausedUntil = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  get(runId: string): string | undefined {
    return this.docs.get(runId);
  }

  /**
   * The run's calls need its lock anyway: a call read more than its document (an Idempotency-Key).
   * It is not cached for PAUSE_MS, so its calls take the lock first instead of trying the cache
   * each time.
   */
  pause(runId: string): void {
    this.delete(runId);
    this.pausedUntil.delete(runId);
    this.pausedUntil.set(runId, this.now() + PAUSE_MS);
    for (const oldest of this.pausedUntil.keys()) {
      if (this.pausedUntil.size <= MAX_PAUSED) break;
      this.pausedUntil.delete(oldest);
    }
  }

  set(runId: string, doc: string): void {
    const until = this.pausedUntil.get(runId);
    if (until !== undefined) {
      if (until > this.now()) return;
      this.pausedUntil.delete(runId);
    }
    this.delete(runId);
    this.docs.set(runId, doc);
    this.chars += doc.length;
    if (this.chars <= MAX_CACHED_CHARS) return;
    for (const [oldest, old] of this.docs) {
      if (this.chars <= MAX_CACHED_CHARS) break;
      this.docs.delete(oldest);
      this.chars -= old.length;
    }
  }

  delete(runId: string): void {
    const old = this.docs.get(runId);
    if (old === undefined) return;
    this.docs.delete(runId);
    this.chars -= old.length;
  }
}

/**
 * Group commit for calls whose run this process has cached: a call works on the cached document at
 * once, with no lock statement and no read, and its writes go out with the other calls' in one
 * round trip — BEGIN, one write statement that takes the runs' locks and checks that no document
 * changed, COMMIT. While MAX_COMMITTING such transactions are committing, new calls gather in the
 * next one. A call that needs more than its document (NeedsLock), that throws, that leaves its run
 * unwritten (nothing would check the document), or whose transaction fails the check, runs again
 * holding its run's lock (PostgresBatcher), as every call did before it was cached.
 * docs/architecture.md ("One transaction per call") describes both paths.
 */
export class CachedCommits {
  /** batches not committing yet, oldest first; only the last one may take more calls */
  private readonly pending: CachedBatch[] = [];
  private committing = 0;
  /** until when the cache is not used (another writer changed a cached run) */
  private offUntil = 0;

  constructor(
    private readonly pool: pg.Pool,
    readonly cache: RunDocCache,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Whether calls on cached runs may skip their lock. A run changed behind the cache means another
   * replica writes the same runs (a load balancer spreading each agent's calls over replicas): then
   * most cached documents would fail their check, each failure a wasted round trip, so the cache
   * stays off for PAUSE_MS and every call takes its lock first, before trying again.
   */
  get on(): boolean {
    return this.now() >= this.offUntil;
  }

  /** The call's value, or RETRY when it must run again holding its run's lock. */
  call<T>(key: string, doc: string, fn: (tx: StoreTx) => Promise<T>): Promise<{ value: T } | typeof RETRY> {
    let batch = this.pending[this.pending.length - 1];
    if (!batch?.joinable) this.pending.push((batch = new CachedBatch(this)));
    return batch.call(key, doc, fn);
  }

  /** Commits the oldest batches whose calls are all done, as long as a slot is free. */
  next(): void {
    while (this.committing < MAX_COMMITTING && this.pending[0]?.idle) {
      const batch = this.pending.shift()!;
      batch.close();
      this.committing++;
      void this.commit(batch).finally(() => {
        this.committing--;
        this.next();
      });
    }
  }

  private async commit(batch: CachedBatch): Promise<void> {
    if (batch.txs.length === 0) return batch.settle({ ok: true, stale: new Set() });
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      return batch.settle({ ok: false, retry: false, error });
    }
    const ended = await commitPipelined(client, ['BEGIN', writeCached(batch.txs), 'COMMIT'], true);
    if (!ended.ok) return batch.settle(ended);
    const stale = new Set((ended.written!.rows[0] as { stale: string[] }).stale);
    for (const tx of batch.txs) if (!stale.has(tx.lockKey)) this.cache.set(tx.lockKey, tx.runs.get(tx.lockKey)!.doc);
    for (const key of stale) this.cache.delete(key);
    if (stale.size) this.offUntil = this.now() + PAUSE_MS;
    batch.settle({ ok: true, stale });
  }
}

/**
 * Sends a transaction's last statements (BEGIN too when it has not gone out yet, the write, COMMIT)
 * in one round trip and releases the client. Committed: the answer of the statement before COMMIT.
 * A statement failed (COMMIT of the aborted transaction then answers ROLLBACK): that failure, to be
 * run again if `retry`. The connection failed: whether COMMIT took effect is unknown, so nothing
 * is run again.
 */
export async function commitPipelined(
  client: pg.PoolClient,
  statements: (string | pg.QueryConfig)[],
  retry: boolean,
): Promise<{ ok: true; written: pg.QueryResult | undefined } | Exclude<Ended, { ok: true }>> {
  let broken = false;
  try {
    const answers = await Promise.allSettled(sendAll(client, statements));
    const done = answers[answers.length - 1]!;
    if (done.status === 'rejected') throw done.reason;
    if (done.value.command === 'COMMIT') {
      const written = answers.length > 1 ? answers[answers.length - 2] : undefined;
      return { ok: true, written: written?.status === 'fulfilled' ? written.value : undefined };
    }
    const failed = answers.find((a) => a.status === 'rejected');
    return { ok: false, retry, error: failed ? failed.reason : new Error(`postgres transaction ended with ${done.value.command}`) };
  } catch (error) {
    broken = true;
    return { ok: false, retry: false, error };
  } finally {
    client.release(broken);
  }
}

/** The calls of one transaction of cached runs. */
class CachedBatch {
  readonly txs: PostgresTx[] = [];
  private calls = 0;
  private running = 0;
  private closed = false;
  settle!: (ended: CachedEnded) => void;
  private readonly ended = new Promise<CachedEnded>((resolve) => (this.settle = resolve));

  constructor(private readonly owner: CachedCommits) {}

  get joinable(): boolean {
    return !this.closed && this.calls < MAX_CALLS;
  }

  /** every call that joined is done with its work */
  get idle(): boolean {
    return this.running === 0 && this.calls > 0;
  }

  close(): void {
    this.closed = true;
  }

  async call<T>(key: string, doc: string, fn: (tx: StoreTx) => Promise<T>): Promise<{ value: T } | typeof RETRY> {
    this.calls++;
    this.running++;
    const tx = new PostgresTx(undefined, key, doc);
    let value: T;
    try {
      value = await fn(tx);
    } catch (err) {
      if (err instanceof NeedsLock) this.owner.cache.pause(key);
      this.done(undefined);
      return RETRY;
    }
    // a call that leaves its run unwritten has nothing that would check the document it used
    if (!tx.runs.has(key)) {
      this.done(undefined);
      return RETRY;
    }
    this.done(tx);
    const ended = await this.ended;
    if (ended.ok) return ended.stale.has(key) ? RETRY : { value };
    if (ended.retry) return RETRY;
    throw ended.error;
  }

  /**
   * A call is done; once none is running, the batch may commit at the end of this turn of the event
   * loop (calls handled in the same turn join it first), or later when a slot frees.
   */
  private done(tx: PostgresTx | undefined): void {
    if (tx) this.txs.push(tx);
    if (--this.running === 0) setImmediate(() => this.owner.next());
  }
}
