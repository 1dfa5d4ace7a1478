import { Worker } from 'node:worker_threads';
import type { Logger, LogLevel } from '../log.js';
import { stopWorker } from '../threads.js';
import type { OutboxRow } from '../store/run-store.js';
import type { RowExporter, RowExportOutcome } from './row-exporter.js';

export interface WorkerSettings {
  url: string;
  protocol: 'http/json' | 'http/protobuf';
  timeoutMs: number;
  headers: Record<string, string>;
  resourceAttributes: Record<string, string>;
  version: string;
  logLevel: LogLevel;
}

/** `spans`: the rows' stored spans one after another (its buffer is transferred), `lengths` where each ends */
export type ExportRequest = { kind: 'export'; id: number; spans: Uint8Array; lengths: number[] } | { kind: 'shutdown' };

/** The stored spans of rows in one buffer: one transfer to the worker instead of a copy per row. */
export function packSpans(rows: readonly OutboxRow[]): { spans: Uint8Array; lengths: number[] } {
  const lengths = rows.map((r) => r.stored.length);
  const spans = new Uint8Array(lengths.reduce((a, b) => a + b, 0));
  let at = 0;
  for (const r of rows) {
    spans.set(r.stored, at);
    at += r.stored.length;
  }
  return { spans, lengths };
}

/** The stored spans packed by packSpans, as views over the one buffer. */
export function unpackSpans(spans: Uint8Array, lengths: readonly number[]): Uint8Array[] {
  let at = 0;
  return lengths.map((n) => spans.subarray(at, (at += n)));
}
export type ExportReply = { kind: 'result'; id: number; outcome: RowExportOutcome } | { kind: 'shutdown' };

/**
 * Runs OTLP encoding and sending in a worker thread. Only the stored span bytes cross over;
 * a worker that dies fails its pending exports (the relay retries them) and is started again
 * on the next export.
 */
export class WorkerRowExporter implements RowExporter {
  private worker: Worker | undefined;
  private nextId = 1;
  private pending = new Map<number, (outcome: RowExportOutcome) => void>();
  private closing: Promise<void> | undefined;

  constructor(
    private readonly settings: WorkerSettings,
    private readonly log: Logger,
  ) {}

  private spawn(): Worker {
    // the built entry next to this module (dist/export/export-worker.js)
    const worker = new Worker(new URL('./export-worker.js', import.meta.url), { workerData: this.settings });
    worker.on('message', (msg: ExportReply) => {
      if (msg.kind !== 'result') return;
      this.pending.get(msg.id)?.(msg.outcome);
      this.pending.delete(msg.id);
    });
    worker.on('error', (err) => this.log.error('export worker failed', { error: String(err) }));
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = undefined;
      for (const [, settle] of this.pending) settle({ ok: false, message: `export worker exited with code ${code}` });
      this.pending.clear();
    });
    worker.unref();
    return worker;
  }

  export(rows: readonly OutboxRow[]): Promise<RowExportOutcome> {
    if (this.closing) return Promise.resolve({ ok: false, message: 'exporter is shut down' });
    const worker = (this.worker ??= this.spawn());
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      const { spans, lengths } = packSpans(rows);
      worker.postMessage({ kind: 'export', id, spans, lengths } satisfies ExportRequest, [spans.buffer as ArrayBuffer]);
    });
  }

  shutdown(timeoutMs = 5_000): Promise<void> {
    this.closing ??= this.close(timeoutMs);
    return this.closing;
  }

  private async close(timeoutMs: number): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    const done = new Promise<void>((resolve) => worker.on('message', (msg: ExportReply) => msg.kind === 'shutdown' && resolve()));
    await stopWorker(worker, { kind: 'shutdown' } satisfies ExportRequest, timeoutMs, done);
  }
}
