import type { OutboxRow } from '../store/run-store.js';
import type { ExporterDiagnostics } from './diag.js';
import type { SpanMaterializer } from './readable-span.js';
import { OtlpRequestBuilder } from './otlp-request.js';
import { createJsonExporter, createProtobufExporter, type ExportOutcome } from './span-exporter.js';

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

export interface InlineExporterOptions {
  url: string;
  protocol: 'http/json' | 'http/protobuf';
  timeoutMillis: number;
  headers: Record<string, string>;
}

/**
 * Builds and sends OTLP requests on the calling thread: what the export worker runs. For
 * http/protobuf the stored `Span` messages are joined into the request as they are; for
 * http/json they are decoded to ReadableSpans and serialized by OpenTelemetry JS.
 */
export class InlineRowExporter implements RowExporter {
  private readonly send: (rows: readonly OutboxRow[]) => Promise<ExportOutcome>;
  private readonly shutdownExporter: () => Promise<void>;

  constructor(
    options: InlineExporterOptions,
    materializer: SpanMaterializer,
    private readonly diagnostics?: ExporterDiagnostics,
  ) {
    if (options.protocol === 'http/protobuf') {
      const exporter = createProtobufExporter(options);
      const builder = new OtlpRequestBuilder(materializer);
      this.send = (rows) => exporter.export(builder.build(rows.map((r) => r.stored)));
      this.shutdownExporter = () => exporter.shutdown();
    } else {
      const exporter = createJsonExporter(options);
      this.send = (rows) => exporter.export(rows.map((r) => materializer.toReadable(r.span)));
      this.shutdownExporter = () => exporter.shutdown();
    }
  }

  async export(rows: readonly OutboxRow[]): Promise<RowExportOutcome> {
    this.diagnostics?.takePartial(); // forget anything logged between exports
    const outcome = await this.send(rows);
    const partial = outcome.ok ? this.diagnostics?.takePartial() : undefined;
    return partial ? { ...outcome, partial } : outcome;
  }

  shutdown(): Promise<void> {
    return this.shutdownExporter();
  }
}
