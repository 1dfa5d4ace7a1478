import { ExportResultCode } from '@opentelemetry/core';
import {
  ExporterMetrics,
  OTLPExporterBase,
  createOtlpNetworkExportDelegate,
  getSharedConfigurationDefaults,
} from '@opentelemetry/otlp-exporter-base';
import {
  JsonTraceSerializer,
  ProtobufTraceSerializer,
  TraceExporterMetricsHelper,
  type IExportTraceServiceResponse,
  type IExporterMetricsHelper,
  type ISerializer,
} from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { CollectorRefusal, CollectorTransport } from './collector-transport.js';
import type { EncodedRequest } from './otlp-request.js';

export type ExportOutcome = { ok: true } | { ok: false; status?: number; message: string; retryAfterMs?: number };

/** The narrow export interface InlineRowExporter needs from an OTLP exporter. */
export interface BatchExporter<T> {
  export(batch: T): Promise<ExportOutcome>;
  shutdown(): Promise<void>;
}

export interface OtlpExporterOptions {
  url: string;
  /** OTEL_EXPORTER_OTLP_(TRACES_)HEADERS, e.g. an auth header for a hosted collector */
  headers: Record<string, string>;
  timeoutMillis: number;
}

/** OTLP/HTTP with the request already encoded (export/otlp-request.ts, export/otlp-json.ts): sent as it is. */
export function createEncodedExporter(opts: OtlpExporterOptions, protocol: 'http/json' | 'http/protobuf'): BatchExporter<EncodedRequest> {
  const responses = protocol === 'http/json' ? JsonTraceSerializer : ProtobufTraceSerializer;
  const serializer: ISerializer<EncodedRequest, IExportTraceServiceResponse> = {
    serializeRequest: (request) => request.body,
    deserializeResponse: (data) => responses.deserializeResponse(data),
  };
  const contentType = protocol === 'http/json' ? 'application/json' : 'application/x-protobuf';
  return createExporter(opts, contentType, serializer, { name: 'span', countItems: (r) => r.spans });
}

/** OTLP/HTTP from ReadableSpans, through the OpenTelemetry JS serializers (the bench's exporter-only baseline). */
export function createReadableSpanExporter(
  opts: OtlpExporterOptions,
  protocol: 'http/json' | 'http/protobuf' = 'http/json',
): BatchExporter<ReadableSpan[]> {
  return protocol === 'http/json'
    ? createExporter(opts, 'application/json', JsonTraceSerializer, TraceExporterMetricsHelper)
    : createExporter(opts, 'application/x-protobuf', ProtobufTraceSerializer, TraceExporterMetricsHelper);
}

/**
 * The OTLP/HTTP exporter of opentelemetry-js (its export delegate and partial success handling)
 * over a transport that does not retry on its own: the relay retries, and needs the collector's
 * status, message and Retry-After to do so.
 */
function createExporter<T>(
  opts: OtlpExporterOptions,
  contentType: string,
  serializer: ISerializer<T, IExportTraceServiceResponse>,
  metricsHelper: IExporterMetricsHelper<T>,
): BatchExporter<T> {
  const transport = new CollectorTransport({ url: opts.url, contentType, headers: opts.headers });
  const metrics = new ExporterMetrics<T>({
    componentType: 'otlp_http_span_exporter',
    metricsHelper,
    url: opts.url,
    meterProvider: undefined,
    responseAttributesFromError: () => ({}),
  });
  const delegate = createOtlpNetworkExportDelegate(
    { ...getSharedConfigurationDefaults(), timeoutMillis: opts.timeoutMillis, compression: 'none' },
    serializer,
    metrics,
    transport,
  );
  const exporter = new OTLPExporterBase<T>(delegate);
  return {
    export: (batch) =>
      new Promise((resolve) => {
        exporter.export(batch, (result) => {
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
