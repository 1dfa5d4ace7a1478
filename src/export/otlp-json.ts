/**
 * One OTLP/JSON ExportTraceServiceRequest from span records (decoded from the outbox), written
 * directly: the same JSON OpenTelemetry JS's JSON serializer writes for the same spans (hex ids,
 * nanosecond times as strings, int attributes as numbers), without building ReadableSpans first.
 * Resource and scope come from the same SpanMaterializer as the protobuf request's.
 */
import type { AttrValue, Attributes, SpanRecord } from '../telemetry/span-record.js';
import type { EncodedRequest } from './otlp-request.js';
import type { SpanMaterializer } from './readable-span.js';

type AnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: number }
  | { doubleValue: number }
  | { arrayValue: { values: AnyValue[] } }
  | Record<string, never>;

function anyValue(v: AttrValue | string | number | boolean): AnyValue {
  switch (typeof v) {
    case 'string':
      return { stringValue: v };
    case 'number':
      return Number.isInteger(v) ? { intValue: v } : { doubleValue: v };
    case 'boolean':
      return { boolValue: v };
    default:
      return Array.isArray(v) ? { arrayValue: { values: (v as (string | number | boolean)[]).map(anyValue) } } : {};
  }
}

function keyValues(attributes: Attributes | undefined): { key: string; value: AnyValue }[] {
  const out: { key: string; value: AnyValue }[] = [];
  if (attributes) for (const key of Object.keys(attributes)) out.push({ key, value: anyValue(attributes[key]!) });
  return out;
}

/** Epoch ms (fractions allowed) as a decimal string of nanoseconds, exact for whole milliseconds. */
export function nanosText(ms: number): string {
  let seconds = Math.floor(ms / 1000);
  let nanos = Math.round((ms - seconds * 1000) * 1e6);
  if (nanos >= 1e9) {
    seconds += 1;
    nanos -= 1e9;
  }
  return seconds === 0 ? String(nanos) : `${seconds}${String(nanos).padStart(9, '0')}`;
}

const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;

function spanJson(rec: SpanRecord) {
  return {
    traceId: rec.trace_id,
    spanId: rec.span_id,
    parentSpanId: rec.parent_span_id || undefined,
    name: rec.name,
    kind: rec.kind + 1,
    startTimeUnixNano: nanosText(rec.start),
    endTimeUnixNano: nanosText(Math.max(rec.end, rec.start)),
    attributes: keyValues(rec.attributes),
    droppedAttributesCount: rec.dropped_attributes,
    events: rec.events.map((e) => ({
      attributes: keyValues(e.attributes),
      name: e.name,
      timeUnixNano: nanosText(e.time),
      droppedAttributesCount: 0,
    })),
    droppedEventsCount: rec.dropped_events,
    status: { code: rec.status.code, message: rec.status.message },
    links: rec.links.map((l) => ({
      attributes: keyValues(l.attributes),
      spanId: l.span_id,
      traceId: l.trace_id,
      droppedAttributesCount: 0,
      flags: 1 | HAS_IS_REMOTE | IS_REMOTE,
    })),
    droppedLinksCount: 0,
    flags: (rec.trace_flags & 0xff) | HAS_IS_REMOTE,
  };
}

export class OtlpJsonBuilder {
  private readonly encoder = new TextEncoder();
  constructor(private readonly materializer: Pick<SpanMaterializer, 'resourceOf' | 'instrumentationScope'>) {}

  /** The request for these spans, grouped per project in the order each project first appears. */
  build(records: readonly SpanRecord[]): EncodedRequest {
    const byProject = new Map<string, SpanRecord[]>();
    for (const rec of records) {
      let list = byProject.get(rec.project_key);
      if (!list) byProject.set(rec.project_key, (list = []));
      list.push(rec);
    }
    const { name, version, schemaUrl: scopeSchemaUrl } = this.materializer.instrumentationScope;
    const resourceSpans = [...byProject].map(([project, spans]) => {
      const resource = this.materializer.resourceOf(project);
      const schemaUrl = resource.schemaUrl || undefined;
      return {
        resource: { attributes: keyValues(resource.attributes as Attributes), droppedAttributesCount: 0, schemaUrl },
        scopeSpans: [{ scope: { name, version }, spans: spans.map(spanJson), schemaUrl: scopeSchemaUrl || undefined }],
        schemaUrl,
      };
    });
    return { body: this.encoder.encode(JSON.stringify({ resourceSpans })), spans: records.length };
  }
}
