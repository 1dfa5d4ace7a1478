/**
 * Reads back what otlp-span.ts writes: the stored envelope (project key + `Span` bytes) without
 * touching the span, and a `Span` message as a SpanRecord — for OTLP/JSON export, dead letters
 * shown to people, and tests. Unknown fields are skipped.
 */
import { spanRecord, type AttrValue, type Attributes, type SpanRecord, type StoredEvent } from './span-record.js';

const SHORT_STRING = 64;
const utf8 = new TextDecoder();
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const float64 = new Float64Array(1);
const float64Bytes = new Uint8Array(float64.buffer);

class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  more(): boolean {
    return this.pos < this.end;
  }

  /** a varint as lo/hi 32-bit words */
  varint64(): [number, number] {
    let lo = 0;
    let hi = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.end) throw new Error('protobuf: truncated varint');
      const b = this.buf[this.pos++]!;
      if (shift < 28) lo |= (b & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >>> 4;
      } else hi |= (b & 0x7f) << (shift - 32);
      if (b < 0x80) return [lo >>> 0, hi >>> 0];
    }
    throw new Error('protobuf: varint longer than 10 bytes');
  }

  varint(): number {
    const [lo, hi] = this.varint64();
    return hi * 2 ** 32 + lo;
  }

  int64(): number {
    const [lo, hi] = this.varint64();
    return hi & 0x80000000 ? -((~hi >>> 0) * 2 ** 32 + (~lo >>> 0) + 1) : hi * 2 ** 32 + lo;
  }

  uint32(): number {
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
  }

  /** fixed64 nanoseconds since the epoch as milliseconds, exact to the nanosecond below 2^53 ms */
  epochMs(): number {
    const lo = this.uint32();
    const hi = this.uint32();
    // hi × 2^32 = hi × 4294 × 1e6 + hi × 967296: every term stays below 2^53
    const rest = hi * 967_296 + lo;
    return hi * 4294 + Math.floor(rest / 1e6) + (rest % 1e6) / 1e6;
  }

  double(): number {
    for (let i = 0; i < 8; i++) float64Bytes[i] = this.buf[this.pos + i]!;
    this.pos += 8;
    return float64[0]!;
  }

  /** a length-delimited field: a reader over its content, and this reader moved past it */
  sub(): Reader {
    const n = this.varint();
    const start = this.pos;
    this.pos += n;
    if (this.pos > this.end) throw new Error('protobuf: length past the end of the message');
    return new Reader(this.buf, start, this.pos);
  }

  bytes(): Uint8Array {
    const r = this.sub();
    return this.buf.subarray(r.pos, r.end);
  }

  string(): string {
    const n = this.varint();
    const start = this.pos;
    const end = start + n;
    if (end > this.end) throw new Error('protobuf: length past the end of the message');
    this.pos = end;
    if (n <= SHORT_STRING) {
      let out = '';
      let i = start;
      for (; i < end; i++) {
        const c = this.buf[i]!;
        if (c >= 0x80) break;
        out += String.fromCharCode(c);
      }
      if (i === end) return out;
    }
    return utf8.decode(this.buf.subarray(start, end));
  }

  hex(): string {
    const bytes = this.bytes();
    let out = '';
    for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]!];
    return out;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint64();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.sub();
    else if (wireType === 5) this.pos += 4;
    else throw new Error(`protobuf: wire type ${wireType} not supported`);
  }
}

function fields(r: Reader, on: (field: number, wireType: number) => boolean): void {
  while (r.more()) {
    const key = r.varint();
    const field = Math.floor(key / 8);
    const wireType = key & 7;
    if (!on(field, wireType)) r.skip(wireType);
  }
}

function anyValue(r: Reader): AttrValue {
  let out: AttrValue = '';
  fields(r, (f, wt) => {
    if (f === 1 && wt === 2) out = r.string();
    else if (f === 2 && wt === 0) out = r.varint() !== 0;
    else if (f === 3 && wt === 0) out = r.int64();
    else if (f === 4 && wt === 1) out = r.double();
    else if (f === 5 && wt === 2) {
      const items: AttrValue[] = [];
      const list = r.sub();
      fields(list, (lf, lwt) => lf === 1 && lwt === 2 && items.push(anyValue(list.sub())) > 0);
      out = items as AttrValue;
    } else return false;
    return true;
  });
  return out;
}

function keyValue(r: Reader, into: Attributes): void {
  let key = '';
  let value: AttrValue = '';
  fields(r, (f, wt) => {
    if (f === 1 && wt === 2) key = r.string();
    else if (f === 2 && wt === 2) value = anyValue(r.sub());
    else return false;
    return true;
  });
  // an own property even for the key "__proto__" (an assignment would set the prototype)
  if (key === '__proto__') Object.defineProperty(into, key, { value, enumerable: true, writable: true, configurable: true });
  else into[key] = value;
}

/** A `Span` message as the record it was written from (times to the nanosecond). */
export function decodeSpan(bytes: Uint8Array, project_key: string): SpanRecord {
  const r = new Reader(bytes);
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
  fields(r, (f, wt) => {
    if (wt === 2 && f === 1) rec.trace_id = r.hex();
    else if (wt === 2 && f === 2) rec.span_id = r.hex();
    else if (wt === 2 && f === 4) rec.parent_span_id = r.hex() || null;
    else if (wt === 2 && f === 5) rec.name = r.string();
    else if (wt === 0 && f === 6) rec.kind = Math.max(0, r.varint() - 1);
    else if (wt === 1 && f === 7) rec.start = r.epochMs();
    else if (wt === 1 && f === 8) rec.end = r.epochMs();
    else if (wt === 2 && f === 9) keyValue(r.sub(), rec.attributes);
    else if (wt === 0 && f === 10) rec.dropped_attributes = r.varint();
    else if (wt === 2 && f === 11) rec.events.push(eventOf(r.sub()));
    else if (wt === 0 && f === 12) rec.dropped_events = r.varint();
    else if (wt === 2 && f === 13) rec.links.push(linkOf(r.sub()));
    else if (wt === 2 && f === 15) {
      const s = r.sub();
      fields(s, (sf, swt) => {
        if (sf === 2 && swt === 2) status.message = s.string();
        else if (sf === 3 && swt === 0) status.code = s.varint();
        else return false;
        return true;
      });
    } else if (wt === 5 && f === 16) {
      rec.trace_flags = r.uint32() & 0xff;
    } else return false;
    return true;
  });
  rec.status = status;
  return rec;
}

function eventOf(r: Reader): StoredEvent {
  const e: StoredEvent = { name: '', time: 0, attributes: {} };
  fields(r, (f, wt) => {
    if (f === 1 && wt === 1) e.time = r.epochMs();
    else if (f === 2 && wt === 2) e.name = r.string();
    else if (f === 3 && wt === 2) keyValue(r.sub(), e.attributes);
    else return false;
    return true;
  });
  return e;
}

function linkOf(r: Reader): SpanRecord['links'][number] {
  const link: SpanRecord['links'][number] = { trace_id: '', span_id: '' };
  fields(r, (f, wt) => {
    if (f === 1 && wt === 2) link.trace_id = r.hex();
    else if (f === 2 && wt === 2) link.span_id = r.hex();
    else if (f === 4 && wt === 2) keyValue(r.sub(), (link.attributes ??= {}));
    else return false;
    return true;
  });
  return link;
}

/** The stored envelope's two fields: the project key and the `Span` message bytes (not copied). */
export function splitStoredSpan(stored: Uint8Array): { project_key: string; span: Uint8Array } {
  const r = new Reader(stored);
  let project_key = '';
  let span: Uint8Array | undefined;
  fields(r, (f, wt) => {
    if (f === 1 && wt === 2) project_key = r.string();
    else if (f === 2 && wt === 2) span = r.bytes();
    else return false;
    return true;
  });
  if (!span) throw new Error('stored span: no Span message (field 2)');
  return { project_key, span };
}
