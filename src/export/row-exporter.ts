import type { OutboxRow } from '../store/run-store.js';
import type { ExporterDiagnostics } from './diag.js';
import type { SpanMaterializer } from './readable-span.js';
import type { BatchExporter, ExportOutcome } from './span-exporter.js';

/** What a collector said of a batch it accepted only in part. */
export interface PartialSuccess {
  rejected: number;
  message: string;
}

export type RowExportOutcome = ExportOutcome & { partial?: PartialSuccess };

/** Exports outbox rows: the relay's one dependency on OpenTelemetry, in this thread or a worker's. */
export interface RowExporter {
  export(rows: readonly OutboxRow[]): Promise<RowExportOutcome>;
  /** Stops, taking at most timeoutMs where the exporter can bound it (the bridge's shutdown timeout). */
  shutdown(timeoutMs?: number): Promise<void>;
}

/** Materializes and exports on the calling thread: what the export worker runs. */
export class InlineRowExporter implements RowExporter {
  constructor(
    private readonly exporter: BatchExporter,
    private readonly materializer: SpanMaterializer,
    private readonly diagnostics?: ExporterDiagnostics,
  ) {}

  async export(rows: readonly OutboxRow[]): Promise<RowExportOutcome> {
    this.diagnostics?.takePartial(); // forget anything logged between exports
    const outcome = await this.exporter.export(rows.map((r) => this.materializer.toReadable(r.span)));
    const partial = outcome.ok ? this.diagnostics?.takePartial() : undefined;
    return partial ? { ...outcome, partial } : outcome;
  }

  shutdown(): Promise<void> {
    return this.exporter.shutdown();
  }
}
