import { ExportResultCode } from '@opentelemetry/core';
import {
  ExporterMetrics,
  OTLPExporterBase,
  createOtlpNetworkExportDelegate,
  getSharedConfigurationDefaults,
} from '@opentelemetry/otlp-exporter-base';
import { JsonTraceSerializer, ProtobufTraceSerializer, TraceExporterMetricsHelper } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { CollectorRefusal, CollectorTransport } from './collector-transport.js';

export type ExportOutcome = { ok: true } | { ok: false; status?: number; message: string; retryAfterMs?: number };

/** The narrow export interface InlineRowExporter needs from an OTLP exporter. */
export interface BatchExporter {
  export(spans: ReadableSpan[]): Promise<ExportOutcome>;
  shutdown(): Promise<void>;
}

export interface OtlpExporterOptions {
  url: string;
  protocol: 'http/json' | 'http/protobuf';
  timeoutMillis: number;
  /** OTEL_EXPORTER_OTLP_(TRACES_)HEADERS, e.g. an auth header for a hosted collector */
  headers: Record<string, string>;
}

/**
 * The OTLP/HTTP span exporter of opentelemetry-js (its serializers, export delegate and partial
 * success handling) over a transport that does not retry on its own: the relay retries, and
 * needs the collector's status, message and Retry-After to do so.
 */
export function createOtlpExporter(opts: OtlpExporterOptions): BatchExporter {
  const protobuf = opts.protocol === 'http/protobuf';
  const transport = new CollectorTransport({
    url: opts.url,
    contentType: protobuf ? 'application/x-protobuf' : 'application/json',
    headers: opts.headers,
  });
  const metrics = new ExporterMetrics<ReadableSpan[]>({
    componentType: 'otlp_http_span_exporter',
    metricsHelper: TraceExporterMetricsHelper,
    url: opts.url,
    meterProvider: undefined,
    responseAttributesFromError: () => ({}),
  });
  const delegate = createOtlpNetworkExportDelegate(
    { ...getSharedConfigurationDefaults(), timeoutMillis: opts.timeoutMillis, compression: 'none' },
    protobuf ? ProtobufTraceSerializer : JsonTraceSerializer,
    metrics,
    transport,
  );
  const exporter = new OTLPExporterBase<ReadableSpan[]>(delegate);
  return {
    export: (spans) =>
      new Promise((resolve) => {
        exporter.export(spans, (result) => {
          if (result.code === ExportResultCode.SUCCESS) return resolve({ ok: true });
          const err = result.error;
          if (err instanceof CollectorRefusal)
            return resolve({ ok: false, status: err.code, message: err.detail, retryAfterMs: err.retryAfterMs });
          resolve({ ok: false, message: err?.message ?? 'export failed' });
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
