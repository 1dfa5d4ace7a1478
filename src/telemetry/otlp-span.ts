/**
 * A span record as an OTLP protobuf `Span` message (opentelemetry-proto trace.proto), written once
 * when the span is stored. The relay joins stored messages into one ExportTraceServiceRequest
 * without decoding them (export/otlp-request.ts). Fields and their order are those the
 * OpenTelemetry JS protobuf serializer writes for the same span, so both encodings are the same bytes.
 */
import { ProtobufWriter } from './protobuf-writer.js';
import type { AttrValue, Attributes, SpanRecord } from './span-record.js';

/** Span flags: the W3C trace flags, and whether the parent's remoteness is known / remote. */
const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;
const MIN_INT64 = -(2 ** 63);
const MAX_INT64 = 2 ** 63;
const NANOS_PER_SECOND = 1_000_000_000;

/** Epoch ms (fractions allowed) as fixed64 nanoseconds, exact for whole milliseconds. */
export function writeEpochMs(w: ProtobufWriter, ms: number): void {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * 1e6);
  // seconds × 1e9 exceeds 2^53: split seconds so every product stays exact
  const low16 = (seconds & 0xffff) * NANOS_PER_SECOND;
  const high = ((seconds / 0x10000) >>> 0) * NANOS_PER_SECOND;
  const lowWithCarry = (low16 >>> 0) + ((((high & 0xffff) * 0x10000) >>> 0) + nanos);
  const lo = lowWithCarry >>> 0;
  const carry = Math.floor(lowWithCarry / 0x100000000);
  const hi = (Math.floor(low16 / 0x100000000) + ((high / 0x10000) >>> 0) + carry) >>> 0;
  w.fixed64(lo, hi);
}

/** An attribute value as an AnyValue message's content: int for integers in int64 range, else double. */
export function writeAnyValue(w: ProtobufWriter, value: AttrValue | string | number | boolean): void {
  switch (typeof value) {
    case 'string':
      w.tag(1, 2);
      w.string(value);
      return;
    case 'boolean':
      w.tag(2, 0);
      w.varint(value ? 1 : 0);
      return;
    case 'number':
      if (Number.isInteger(value) && value >= MIN_INT64 && value < MAX_INT64) {
        w.tag(3, 0);
        w.int64(value);
      } else {
        w.tag(4, 1);
        w.double(value);
      }
      return;
    default:
      if (!Array.isArray(value)) return; // not an attribute value: nothing, as the SDK does
      w.tag(5, 2);
      {
        const array = w.begin();
        for (const item of value as (string | number | boolean)[]) {
          w.tag(1, 2);
          const at = w.begin();
          writeAnyValue(w, item);
          w.end(at);
        }
        w.end(array);
      }
  }
}

/** Attributes as repeated KeyValue under the given field number. */
export function writeAttributes(w: ProtobufWriter, attributes: Attributes, field: number): void {
  for (const key in attributes) {
    if (!Object.prototype.hasOwnProperty.call(attributes, key)) continue;
    w.tag(field, 2);
    const kv = w.begin();
    w.tag(1, 2);
    w.string(key);
    w.tag(2, 2);
    const value = w.begin();
    writeAnyValue(w, attributes[key]!);
    w.end(value);
    w.end(kv);
  }
}

function writeSpan(w: ProtobufWriter, rec: SpanRecord): void {
  w.tag(1, 2);
  w.hexBytes(rec.trace_id);
  w.tag(2, 2);
  w.hexBytes(rec.span_id);
  if (rec.parent_span_id) {
    w.tag(4, 2);
    w.hexBytes(rec.parent_span_id);
  }
  w.tag(5, 2);
  w.string(rec.name);
  // OTLP's SpanKind counts from UNSPECIFIED = 0; the API's from INTERNAL = 0
  w.tag(6, 0);
  w.varint(rec.kind + 1);
  w.tag(7, 1);
  writeEpochMs(w, rec.start);
  w.tag(8, 1);
  writeEpochMs(w, Math.max(rec.end, rec.start));
  writeAttributes(w, rec.attributes, 9);
  w.tag(10, 0);
  w.varint(rec.dropped_attributes);
  for (const e of rec.events) {
    w.tag(11, 2);
    const at = w.begin();
    w.tag(1, 1);
    writeEpochMs(w, e.time);
    w.tag(2, 2);
    w.string(e.name);
    writeAttributes(w, e.attributes, 3);
    w.tag(4, 0);
    w.varint(0);
    w.end(at);
  }
  w.tag(12, 0);
  w.varint(rec.dropped_events);
  for (const l of rec.links) {
    w.tag(13, 2);
    const at = w.begin();
    w.tag(1, 2);
    w.hexBytes(l.trace_id);
    w.tag(2, 2);
    w.hexBytes(l.span_id);
    if (l.attributes) writeAttributes(w, l.attributes, 4);
    w.tag(5, 0);
    w.varint(0);
    // a link points at a sampled span in another trace: remote
    w.tag(6, 5);
    w.fixed32(1 | HAS_IS_REMOTE | IS_REMOTE);
    w.end(at);
  }
  w.tag(14, 0);
  w.varint(0);
  w.tag(15, 2);
  const status = w.begin();
  if (rec.status.message) {
    w.tag(2, 2);
    w.string(rec.status.message);
  }
  w.tag(3, 0);
  w.varint(rec.status.code);
  w.end(status);
  w.tag(16, 5);
  w.fixed32((rec.trace_flags & 0xff) | HAS_IS_REMOTE);
}

const writer = new ProtobufWriter();

/** The span's OTLP `Span` message bytes (without a field tag or length around them). */
export function encodeSpan(rec: SpanRecord): Buffer {
  writer.reset();
  writeSpan(writer, rec);
  return writer.finish();
}

/**
 * What the outbox stores for a span: a two-field message, the project key (field 1, it picks the
 * span's resource) and the `Span` message (field 2). Its first byte is 0x0a, never the `{` of the
 * JSON text earlier versions stored.
 */
export function encodeStoredSpan(rec: SpanRecord): Buffer {
  writer.reset();
  writer.tag(1, 2);
  writer.string(rec.project_key);
  writer.tag(2, 2);
  const at = writer.begin();
  writeSpan(writer, rec);
  writer.end(at);
  return writer.finish();
}
