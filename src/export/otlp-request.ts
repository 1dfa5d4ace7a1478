/**
 * One OTLP/protobuf ExportTraceServiceRequest from stored spans, without decoding them: the rows
 * are grouped per project into ResourceSpans → ScopeSpans, and each stored `Span` message is
 * copied in as one element of the repeated `spans` field (protobuf repeated fields join by
 * concatenation). Resource and scope are encoded once per project.
 */
import type { Resource } from '@opentelemetry/resources';
import { splitStoredSpan } from '../telemetry/otlp-span-decode.js';
import { writeAttributes } from '../telemetry/otlp-span.js';
import { ProtobufWriter } from '../telemetry/protobuf-writer.js';
import type { Attributes } from '../telemetry/span-record.js';
import type { SpanMaterializer } from './readable-span.js';

/** A request ready to send, and how many spans it carries. */
export interface EncodedRequest {
  body: Uint8Array;
  spans: number;
}

interface ProjectHeader {
  /** ResourceSpans.resource (field 1), tag and length included */
  resource: Buffer;
  schemaUrl: string | undefined;
}

export class OtlpRequestBuilder {
  private readonly writer = new ProtobufWriter();
  private readonly headers = new Map<string, ProjectHeader>();
  private readonly scopeField: Buffer;
  private readonly scopeSchemaUrl: string | undefined;

  constructor(private readonly materializer: Pick<SpanMaterializer, 'resourceOf' | 'instrumentationScope'>) {
    const w = new ProtobufWriter();
    const scope = materializer.instrumentationScope;
    w.tag(1, 2);
    const at = w.begin();
    w.tag(1, 2);
    w.string(scope.name);
    if (scope.version) {
      w.tag(2, 2);
      w.string(scope.version);
    }
    w.end(at);
    this.scopeField = w.finish();
    this.scopeSchemaUrl = scope.schemaUrl || undefined;
  }

  private headerOf(project: string): ProjectHeader {
    let h = this.headers.get(project);
    if (!h) {
      const resource: Resource = this.materializer.resourceOf(project);
      const w = new ProtobufWriter();
      w.tag(1, 2);
      const at = w.begin();
      writeAttributes(w, resource.attributes as Attributes, 1);
      w.tag(2, 0); // dropped_attributes_count
      w.varint(0);
      w.end(at);
      h = { resource: w.finish(), schemaUrl: resource.schemaUrl };
      if (this.headers.size > 10_000) this.headers.clear();
      this.headers.set(project, h);
    }
    return h;
  }

  /** The request for these stored spans (each as written by encodeStoredSpan), in their order per project. */
  build(stored: readonly Uint8Array[]): EncodedRequest {
    const byProject = new Map<string, Uint8Array[]>();
    for (const value of stored) {
      const { project_key, span } = splitStoredSpan(value);
      let list = byProject.get(project_key);
      if (!list) byProject.set(project_key, (list = []));
      list.push(span);
    }
    const w = this.writer;
    w.reset();
    for (const [project, spans] of byProject) {
      const header = this.headerOf(project);
      w.tag(1, 2); // ExportTraceServiceRequest.resource_spans
      const resourceSpans = w.begin();
      w.raw(header.resource);
      w.tag(2, 2); // ResourceSpans.scope_spans
      const scopeSpans = w.begin();
      w.raw(this.scopeField);
      for (const span of spans) {
        w.tag(2, 2); // ScopeSpans.spans
        w.bytes(span);
      }
      if (this.scopeSchemaUrl) {
        w.tag(3, 2); // ScopeSpans.schema_url
        w.string(this.scopeSchemaUrl);
      }
      w.end(scopeSpans);
      if (header.schemaUrl) {
        w.tag(3, 2);
        w.string(header.schemaUrl);
      }
      w.end(resourceSpans);
    }
    return { body: w.finish(), spans: stored.length };
  }
}
