/**
 * Reads back what otlp-span.ts writes: the stored envelope (project key + `Span` bytes) without
 * touching the span, and a `Span` message as a SpanRecord — for OTLP/JSON export, dead letters
 * shown to people, and tests. Unknown fields are skipped. One cursor over one buffer at a time
 * (decoding is synchronous), each nested message read up to its end offset.
 */
import { spanRecord, type AttrValue, type Attributes, type SpanLinkRecord, type SpanRecord, type StoredEvent } from './span-record.js';

const float64 = new Float64Array(1);
const float64Bytes = new Uint8Array(float64.buffer);

/** the message being read, as a Buffer over the caller's bytes (no copy) for Node's native slicing */
let buf: Buffer = Buffer.alloc(0);
let pos = 0;

function truncated(): never {
  throw new Error('protobuf: message ends inside a field');
}

/** a varint below 2^53 (tags, lengths, counts) */
function varint(): number {
  let value = 0;
  for (let shift = 0; shift < 64; shift += 7) {
    if (pos >= buf.length) truncated();
    const b = buf[pos++]!;
    value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return value;
  }
  throw new Error('protobuf: varint longer than 10 bytes');
}

/** an int64 varint, negatives in two's complement */
function int64(): number {
  let lo = 0;
  let hi = 0;
  for (let shift = 0; shift < 70; shift += 7) {
    if (pos >= buf.length) truncated();
    const b = buf[pos++]!;
    if (shift < 28) lo |= (b & 0x7f) << shift;
    else if (shift === 28) {
      lo |= (b & 0x0f) << 28;
      hi |= (b & 0x7f) >>> 4;
    } else hi |= (b & 0x7f) << (shift - 32);
    if (b < 0x80) {
      lo >>>= 0;
      hi >>>= 0;
      return hi & 0x80000000 ? -((~hi >>> 0) * 2 ** 32 + (~lo >>> 0) + 1) : hi * 2 ** 32 + lo;
    }
  }
  throw new Error('protobuf: varint longer than 10 bytes');
}

function uint32(): number {
  if (pos + 4 > buf.length) truncated();
  const p = pos;
  pos += 4;
  return (buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)) >>> 0;
}

/** fixed64 nanoseconds since the epoch as milliseconds, exact to the nanosecond below 2^53 ms */
function epochMs(): number {
  const lo = uint32();
  const hi = uint32();
  // hi × 2^32 = hi × 4294 × 1e6 + hi × 967296: every term stays below 2^53
  const rest = hi * 967_296 + lo;
  return hi * 4294 + Math.floor(rest / 1e6) + (rest % 1e6) / 1e6;
}

function double(): number {
  if (pos + 8 > buf.length) truncated();
  for (let i = 0; i < 8; i++) float64Bytes[i] = buf[pos + i]!;
  pos += 8;
  return float64[0]!;
}

/** a length-delimited field's end offset; the cursor is at its content */
function contentEnd(): number {
  const n = varint();
  const end = pos + n;
  if (end > buf.length) truncated();
  return end;
}

function string(): string {
  const end = contentEnd();
  const start = pos;
  pos = end;
  return buf.toString('utf8', start, end);
}

function hex(): string {
  const end = contentEnd();
  const start = pos;
  pos = end;
  return buf.toString('hex', start, end);
}

function view(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function skip(wireType: number): void {
  if (wireType === 0) varint();
  else if (wireType === 1) pos += 8;
  else if (wireType === 2) pos = contentEnd();
  else if (wireType === 5) pos += 4;
  else throw new Error(`protobuf: wire type ${wireType} not supported`);
}

function anyValue(end: number): AttrValue {
  let out: AttrValue = '';
  while (pos < end) {
    const key = varint();
    if (key === 0x0a) out = string();
    else if (key === 0x10) out = varint() !== 0;
    else if (key === 0x18) out = int64();
    else if (key === 0x21) out = double();
    else if (key === 0x2a) {
      const items: AttrValue[] = [];
      const listEnd = contentEnd();
      while (pos < listEnd) {
        const itemKey = varint();
        if (itemKey === 0x0a) items.push(anyValue(contentEnd()));
        else skip(itemKey & 7);
      }
      out = items as AttrValue;
    } else skip(key & 7);
  }
  return out;
}

function keyValue(end: number, into: Attributes): void {
  let name = '';
  let value: AttrValue = '';
  while (pos < end) {
    const key = varint();
    if (key === 0x0a) name = string();
    else if (key === 0x12) value = anyValue(contentEnd());
    else skip(key & 7);
  }
  // an own property even for the key "__proto__" (an assignment would set the prototype)
  if (name === '__proto__') Object.defineProperty(into, name, { value, enumerable: true, writable: true, configurable: true });
  else into[name] = value;
}

function eventOf(end: number): StoredEvent {
  const e: StoredEvent = { name: '', time: 0, attributes: {} };
  while (pos < end) {
    const key = varint();
    if (key === 0x09) e.time = epochMs();
    else if (key === 0x12) e.name = string();
    else if (key === 0x1a) keyValue(contentEnd(), e.attributes);
    else skip(key & 7);
  }
  return e;
}

function linkOf(end: number): SpanLinkRecord {
  const link: SpanLinkRecord = { trace_id: '', span_id: '' };
  while (pos < end) {
    const key = varint();
    if (key === 0x0a) link.trace_id = hex();
    else if (key === 0x12) link.span_id = hex();
    else if (key === 0x22) keyValue(contentEnd(), (link.attributes ??= {}));
    else skip(key & 7);
  }
  return link;
}

/** A `Span` message as the record it was written from (times to the nanosecond). */
export function decodeSpan(bytes: Uint8Array, project_key: string): SpanRecord {
  buf = view(bytes);
  pos = 0;
  const rec = spanRecord({
    project_key,
    trace_id: '',
    span_id: '',
    parent_span_id: null,
    trace_flags: 0,
    name: '',
    kind: 0,
    start: 0,
    end: 0,
    attributes: {},
    events: [],
    links: [],
  });
  const status: SpanRecord['status'] = { code: 0 };
  const end = bytes.length;
  while (pos < end) {
    const key = varint();
    switch (key) {
      case 0x0a: // 1 trace_id
        rec.trace_id = hex();
        break;
      case 0x12: // 2 span_id
        rec.span_id = hex();
        break;
      case 0x22: // 4 parent_span_id
        rec.parent_span_id = hex() || null;
        break;
      case 0x2a: // 5 name
        rec.name = string();
        break;
      case 0x30: // 6 kind, counted from UNSPECIFIED
        rec.kind = Math.max(0, varint() - 1);
        break;
      case 0x39: // 7 start_time_unix_nano
        rec.start = epochMs();
        break;
      case 0x41: // 8 end_time_unix_nano
        rec.end = epochMs();
        break;
      case 0x4a: // 9 attributes
        keyValue(contentEnd(), rec.attributes);
        break;
      case 0x50: // 10 dropped_attributes_count
        rec.dropped_attributes = varint();
        break;
      case 0x5a: // 11 events
        rec.events.push(eventOf(contentEnd()));
        break;
      case 0x60: // 12 dropped_events_count
        rec.dropped_events = varint();
        break;
      case 0x6a: // 13 links
        rec.links.push(linkOf(contentEnd()));
        break;
      case 0x7a: {
        // 15 status
        const statusEnd = contentEnd();
        while (pos < statusEnd) {
          const k = varint();
          if (k === 0x12) status.message = string();
          else if (k === 0x18) status.code = varint();
          else skip(k & 7);
        }
        break;
      }
      case 0x85: // 16 flags (fixed32)
        rec.trace_flags = uint32() & 0xff;
        break;
      default:
        skip(key & 7);
    }
  }
  rec.status = status;
  return rec;
}

/** The stored envelope's two fields: the project key and the `Span` message bytes (not copied). */
export function splitStoredSpan(stored: Uint8Array): { project_key: string; span: Uint8Array } {
  buf = view(stored);
  pos = 0;
  let project_key = '';
  let span: Uint8Array | undefined;
  while (pos < stored.length) {
    const key = varint();
    if (key === 0x0a) project_key = string();
    else if (key === 0x12) {
      const end = contentEnd();
      span = stored.subarray(pos, end);
      pos = end;
    } else skip(key & 7);
  }
  if (!span) throw new Error('stored span: no Span message (field 2)');
  return { project_key, span };
}
