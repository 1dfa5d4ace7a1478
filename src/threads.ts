import type { Worker } from 'node:worker_threads';

/** Waits for p, or for ms at most; the timer never outlives the wait. */
export async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([p, new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, ms))))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Asks a worker thread to finish (message) and waits up to ms for `done` or its exit, keeping the
 * process alive meanwhile (our workers are unref'd), then terminates it.
 */
export async function stopWorker(worker: Worker, message: unknown, ms: number, done?: Promise<void>): Promise<void> {
  worker.ref();
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.postMessage(message);
  await within(done ? Promise.race([done, exited]) : exited, ms);
  await worker.terminate();
}
