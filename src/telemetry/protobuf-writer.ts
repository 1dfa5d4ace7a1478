/**
 * A minimal protobuf writer: varints, fixed32/64, doubles, strings, bytes and length-delimited
 * sub-messages written in place (the length is patched after the content). One scratch buffer per
 * thread, grown on demand; `finish` copies the bytes out.
 */
const MIN_CAPACITY = 4096;
/** strings up to this length are tried as ASCII in a loop: cheaper than a call into the encoder */
const SHORT_STRING = 64;
const float64 = new Float64Array(1);
const float64Bytes = new Uint8Array(float64.buffer);

function hexDigit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  if (code >= 97 && code <= 102) return code - 87; // a-f
  if (code >= 65 && code <= 70) return code - 55; // A-F
  return -1;
}

export class ProtobufWriter {
  private buf = Buffer.allocUnsafe(MIN_CAPACITY);
  pos = 0;

  reset(): void {
    this.pos = 0;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** field number and wire type (0 varint, 1 fixed64, 2 length-delimited, 5 fixed32) */
  tag(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  /** an unsigned varint below 2^32 */
  varint(value: number): void {
    this.ensure(5);
    let v = value >>> 0;
    while (v > 0x7f) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }

  /** an int64 varint (two's complement for negatives), from a number that is an integer */
  int64(value: number): void {
    if (value >= 0 && value < 2 ** 32) return this.varint(value);
    let lo: number;
    let hi: number;
    if (value >= 0) {
      lo = (value % 2 ** 32) >>> 0;
      hi = Math.floor(value / 2 ** 32) >>> 0;
    } else {
      const abs = -value;
      lo = (abs % 2 ** 32) >>> 0;
      hi = Math.floor(abs / 2 ** 32) >>> 0;
      // negate: invert and add one, carrying into the high word
      lo = ~lo >>> 0;
      hi = ~hi >>> 0;
      lo = (lo + 1) >>> 0;
      if (lo === 0) hi = (hi + 1) >>> 0;
    }
    this.ensure(10);
    while (hi > 0 || lo > 0x7f) {
      this.buf[this.pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    this.buf[this.pos++] = lo;
  }

  fixed32(value: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(value >>> 0, this.pos);
    this.pos += 4;
  }

  fixed64(lo: number, hi: number): void {
    this.ensure(8);
    this.buf.writeUInt32LE(lo >>> 0, this.pos);
    this.buf.writeUInt32LE(hi >>> 0, this.pos + 4);
    this.pos += 8;
  }

  double(value: number): void {
    this.ensure(8);
    float64[0] = value; // little-endian on every platform Node runs on here (x64, arm64)
    this.buf.set(float64Bytes, this.pos);
    this.pos += 8;
  }

  string(value: string): void {
    const len = value.length;
    if (len <= SHORT_STRING) {
      // ASCII: one byte per character and a one-byte length; anything else takes the encoder
      this.ensure(len + 1);
      const buf = this.buf;
      const start = this.pos;
      let at = start + 1;
      let i = 0;
      for (; i < len; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) break;
        buf[at++] = c;
      }
      if (i === len) {
        buf[start] = len;
        this.pos = at;
        return;
      }
    }
    const n = Buffer.byteLength(value, 'utf8');
    this.varint(n);
    this.ensure(n);
    this.buf.write(value, this.pos, n, 'utf8');
    this.pos += n;
  }

  bytes(value: Uint8Array): void {
    this.varint(value.length);
    this.raw(value);
  }

  /** bytes copied as they are (an already-encoded message or field) */
  raw(value: Uint8Array): void {
    this.ensure(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  /** a hex id (trace or span id) as bytes */
  hexBytes(hex: string): void {
    const n = hex.length >>> 1;
    this.varint(n);
    this.ensure(n);
    const buf = this.buf;
    for (let i = 0; i < n; i++) {
      const hi = hexDigit(hex.charCodeAt(2 * i));
      const lo = hexDigit(hex.charCodeAt(2 * i + 1));
      if (hi < 0 || lo < 0 || hex.length !== 2 * n) throw new Error(`id is not ${n * 2} hex digits: ${JSON.stringify(hex.slice(0, 40))}`);
      buf[this.pos + i] = (hi << 4) | lo;
    }
    this.pos += n;
  }

  /** Starts a length-delimited field's content; returns where it starts, for `end`. */
  begin(): number {
    this.ensure(1);
    this.pos += 1; // one byte reserved for the length; moved along if the length needs more
    return this.pos;
  }

  end(start: number): void {
    const len = this.pos - start;
    let size = 1;
    for (let v = len >>> 7; v > 0; v >>>= 7) size++;
    if (size > 1) {
      this.ensure(size - 1);
      this.buf.copy(this.buf, start + size - 1, start, this.pos);
      this.pos += size - 1;
    }
    let at = start - 1;
    let v = len;
    while (v > 0x7f) {
      this.buf[at++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[at] = v;
  }

  /** A copy of what was written since `from` (default: everything). */
  finish(from = 0): Buffer {
    return Buffer.from(this.buf.subarray(from, this.pos));
  }
}
