import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter as OTLPHttpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPHttpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

export type ExportOutcome =
  | { ok: true }
  | { ok: false; status?: number; message: string };

/** The narrow export interface InlineRowExporter needs from an OTLP exporter. */
export interface BatchExporter {
  export(spans: ReadableSpan[]): Promise<ExportOutcome>;
  shutdown(): Promise<void>;
}

export function createOtlpExporter(opts: { url: string; protocol: 'http/json' | 'http/protobuf'; timeoutMillis?: number }): BatchExporter {
  const config = { url: opts.url, timeoutMillis: opts.timeoutMillis ?? 10_000 };
  const exporter: SpanExporter =
    opts.protocol === 'http/protobuf' ? new OTLPHttpProtoExporter(config) : new OTLPHttpJsonExporter(config);
  return {
    export: (spans) =>
      new Promise((resolve) => {
        exporter.export(spans, (result) => {
          if (result.code === ExportResultCode.SUCCESS) return resolve({ ok: true });
          const err = result.error as (Error & { code?: number | string }) | undefined;
          const status = typeof err?.code === 'number' ? err.code : undefined;
          resolve({ ok: false, status, message: err?.message ?? 'export failed' });
        });
      }),
    shutdown: () => exporter.shutdown(),
  };
}

/** How a failed export is handled (docs/architecture.md#delivery). */
export function classify(outcome: { status?: number }): 'split' | 'dead_letter' | 'retry' {
  const s = outcome.status;
  if (s === 413) return 'split';
  if (s !== undefined && s >= 400 && s < 500 && s !== 429) return 'dead_letter';
  return 'retry';
}
