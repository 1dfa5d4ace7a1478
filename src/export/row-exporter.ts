import type { OutboxRow } from '../store/run-store.js';
import type { ExporterDiagnostics } from './diag.js';
import type { SpanMaterializer } from './readable-span.js';
import { OtlpJsonBuilder } from './otlp-json.js';
import { OtlpRequestBuilder, type EncodedRequest } from './otlp-request.js';
import { createEncodedExporter, type BatchExporter, type ExportOutcome } from './span-exporter.js';

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
 * http/json they are decoded to span records and written as OTLP/JSON.
 */
export class InlineRowExporter implements RowExporter {
  private readonly exporter: BatchExporter<EncodedRequest>;
  private readonly encode: (rows: readonly OutboxRow[]) => EncodedRequest;

  constructor(
    options: InlineExporterOptions,
    materializer: SpanMaterializer,
    private readonly diagnostics?: ExporterDiagnostics,
  ) {
    this.exporter = createEncodedExporter(options, options.protocol);
    if (options.protocol === 'http/protobuf') {
      const builder = new OtlpRequestBuilder(materializer);
      this.encode = (rows) => builder.build(rows.map((r) => r.stored));
    } else {
      const builder = new OtlpJsonBuilder(materializer);
      this.encode = (rows) => builder.build(rows.map((r) => r.span));
    }
  }

  async export(rows: readonly OutboxRow[]): Promise<RowExportOutcome> {
    this.diagnostics?.takePartial(); // forget anything logged between exports
    const outcome = await this.exporter.export(this.encode(rows));
    const partial = outcome.ok ? this.diagnostics?.takePartial() : undefined;
    return partial ? { ...outcome, partial } : outcome;
  }

  shutdown(): Promise<void> {
    return this.exporter.shutdown();
  }
}
