import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { stopWorker } from '../threads.js';

/**
 * The checkpointer's thread, as source (an eval'd worker needs no file of its own, so the store runs
 * the same from dist/ and from source). It opens the database on its own connection and runs a
 * PASSIVE checkpoint on a timer: WAL pages are copied into the database file (and synced) there,
 * never inside a COMMIT on the main thread. PASSIVE never blocks writers or readers.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); }
  catch (err) { parentPort.postMessage({ error: String(err) }); }
}, workerData.intervalMs);
parentPort.on('message', () => { clearInterval(timer); db.close(); parentPort.close(); });
`;

/** Runs SQLite WAL checkpoints in a worker thread (see WORKER_SOURCE). */
export class SqliteCheckpointer {
  private worker: Worker | undefined;

  constructor(
    private readonly file: string,
    private readonly intervalMs: number,
    private readonly onError: (message: string) => void,
  ) {}

  start(): void {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file: this.file, intervalMs: this.intervalMs, driver } });
    worker.on('message', (m: { error?: string }) => m.error && this.onError(m.error));
    worker.on('error', (err) => this.onError(String(err)));
    worker.unref();
    this.worker = worker;
  }

  async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (!worker) return;
    await stopWorker(worker, 'stop', 2_000);
  }
}
