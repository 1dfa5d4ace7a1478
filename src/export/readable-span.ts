import type { HrTime, Link, SpanContext } from '@opentelemetry/api';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { SCOPE_NAME } from '../telemetry/attributes.js';
import { EXPORT_SCHEMA_URL, resourceAttributesOf } from '../telemetry/resource-attributes.js';
import type { SpanRecord } from '../telemetry/span-record.js';

function hrTime(ms: number): HrTime {
  const sec = Math.floor(ms / 1000);
  return [sec, Math.round((ms - sec * 1000) * 1e6)];
}

function spanContext(traceId: string, spanId: string, flags: number): SpanContext {
  return { traceId, spanId, traceFlags: flags, isRemote: false };
}

/** Builds ReadableSpans from stored records; one Resource per project (resourceAttributesOf), so exports group by service and Phoenix project. */
export class SpanMaterializer {
  private resources = new Map<string, Resource>();
  private scope: { name: string; version: string; schemaUrl: string };

  constructor(
    private readonly resourceAttributes: Record<string, string>,
    version: string,
  ) {
    this.scope = { name: SCOPE_NAME, version, schemaUrl: EXPORT_SCHEMA_URL };
  }

  /**
   * The resource of a project's spans: the one place its attributes are chosen, for both the
   * OTLP/protobuf request (export/otlp-request.ts) and the ReadableSpans of OTLP/JSON.
   */
  resourceOf(project: string): Resource {
    let r = this.resources.get(project);
    if (!r) {
      r = resourceFromAttributes(resourceAttributesOf(project, this.resourceAttributes), { schemaUrl: EXPORT_SCHEMA_URL });
      if (this.resources.size > 10_000) this.resources.clear();
      this.resources.set(project, r);
    }
    return r;
  }

  /** the instrumentation scope every span is exported under (with its schema URL when it has one) */
  get instrumentationScope(): { name: string; version: string; schemaUrl?: string } {
    return this.scope;
  }

  toReadable(rec: SpanRecord): ReadableSpan {
    const ctx = spanContext(rec.trace_id, rec.span_id, rec.trace_flags);
    const start = hrTime(rec.start);
    const end = hrTime(Math.max(rec.end, rec.start));
    const durMs = Math.max(0, rec.end - rec.start);
    const links: Link[] = rec.links.map((l) => ({
      context: { traceId: l.trace_id, spanId: l.span_id, traceFlags: 1, isRemote: true },
      attributes: l.attributes,
    }));
    return {
      name: rec.name,
      kind: rec.kind,
      spanContext: () => ctx,
      parentSpanContext: rec.parent_span_id
        ? { traceId: rec.trace_id, spanId: rec.parent_span_id, traceFlags: rec.trace_flags, isRemote: false }
        : undefined,
      startTime: start,
      endTime: end,
      duration: hrTime(durMs),
      status: rec.status,
      attributes: rec.attributes,
      links,
      events: rec.events.map((e) => ({ name: e.name, time: hrTime(e.time), attributes: e.attributes, droppedAttributesCount: 0 })),
      ended: true,
      resource: this.resourceOf(rec.project_key),
      instrumentationScope: this.scope,
      droppedAttributesCount: rec.dropped_attributes,
      droppedEventsCount: rec.dropped_events,
      droppedLinksCount: 0,
    };
  }
}
