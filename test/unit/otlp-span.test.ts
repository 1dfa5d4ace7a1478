import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { OtlpJsonBuilder, nanosText } from '../../src/export/otlp-json.js';
import { OtlpRequestBuilder } from '../../src/export/otlp-request.js';
import { SpanMaterializer } from '../../src/export/readable-span.js';
import { StoredOutboxRow, spanOfStored, storedSpanBytes } from '../../src/store/run-store.js';
import { decodeSpan, splitStoredSpan } from '../../src/telemetry/otlp-span-decode.js';
import { encodeSpan, encodeStoredSpan } from '../../src/telemetry/otlp-span.js';
import { ProtobufWriter } from '../../src/telemetry/protobuf-writer.js';
import { spanRecord, STATUS_CODE, type Attributes, type SpanRecord } from '../../src/telemetry/span-record.js';
import { OTLP_TRACE_PROTO } from '../support/otlp-proto.js';

// The hand-written OTLP `Span` encoder against OpenTelemetry JS's own protobuf serializer (same
// bytes for the same span), against protobufjs decoding the full request, and round trips.

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

/** Every attribute value type a span can carry. */
const EVERY_TYPE: Attributes = {
  'oprelay.run.id': 'run-1',
  'gen_ai.usage.input_tokens': 1200,
  'gen_ai.usage.cost': 0.0125,
  negative: -42,
  big: 2 ** 40 + 3,
  beyond_safe: 2 ** 60,
  huge: 1e300,
  flag: true,
  off: false,
  unicode: 'naïve — 日本語 🚀',
  long: 'x'.repeat(20_000),
  names: ['a', 'b'],
  counts: [1, -2, 3],
  ratios: [0.5, 1.25],
  flags: [true, false],
  empty: [],
};

function fullSpan(project = 'shop', name = 'chat gpt-4o'): SpanRecord {
  return spanRecord({
    project_key: project,
    trace_id: '0af7651916cd43dd8448eb211c80319c',
    span_id: 'b7ad6b7169203332',
    parent_span_id: 'b7ad6b7169203331',
    trace_flags: 1,
    name,
    kind: 2,
    start: T0,
    end: T0 + 1234.5,
    attributes: EVERY_TYPE,
    events: [
      { name: 'gen_ai.choice', time: T0 + 10, attributes: { index: 0, text: 'hi' } },
      { name: 'empty', time: T0 + 20, attributes: {} },
    ],
    links: [{ trace_id: '1af7651916cd43dd8448eb211c80319d', span_id: 'c7ad6b7169203333', attributes: { 'oprelay.link': 'parent' } }],
    status: { code: STATUS_CODE.ERROR, message: 'rate limited' },
    dropped_attributes: 3,
    dropped_events: 1,
  });
}

const rootSpan = (project: string) =>
  spanRecord({
    project_key: project,
    trace_id: '2af7651916cd43dd8448eb211c80319c',
    span_id: 'a7ad6b7169203332',
    parent_span_id: null,
    trace_flags: 0,
    name: 'invoke_agent',
    kind: 0,
    start: T0,
    end: T0,
    attributes: {},
  });

const materializer = new SpanMaterializer({ 'deployment.environment.name': 'test' }, '1.2.3');

describe('OTLP Span encoding', () => {
  it('writes the same request bytes as the OpenTelemetry JS serializer, spans grouped per project', () => {
    const spans = [fullSpan('shop'), rootSpan('bank'), fullSpan('shop', 'second'), rootSpan('shop')];
    const ours = new OtlpRequestBuilder(materializer).build(spans.map(encodeStoredSpan));
    const theirs = ProtobufTraceSerializer.serializeRequest(spans.map((s) => materializer.toReadable(s)))!;
    assert.equal(ours.spans, 4);
    assert.deepEqual(Buffer.from(ours.body), Buffer.from(theirs));
  });

  it('writes the same OTLP/JSON as the OpenTelemetry JS serializer, from the decoded spans', () => {
    const spans = [fullSpan('shop'), rootSpan('bank'), fullSpan('shop', 'second'), rootSpan('shop')];
    const decoded = spans.map((s) => new StoredOutboxRow(1, null, 0, 0, encodeStoredSpan(s)).span);
    const ours = new OtlpJsonBuilder(materializer).build(decoded);
    const theirs = JsonTraceSerializer.serializeRequest(spans.map((s) => materializer.toReadable(s)))!;
    assert.equal(ours.spans, 4);
    assert.deepEqual(JSON.parse(Buffer.from(ours.body).toString('utf8')), JSON.parse(Buffer.from(theirs).toString('utf8')));
  });

  it('writes times as exact nanosecond strings', () => {
    assert.equal(nanosText(T0), `${T0}000000`);
    assert.equal(nanosText(T0 + 0.5), `${T0}500000`);
    assert.equal(nanosText(999.9999999), '1000000000');
    assert.equal(nanosText(0.25), '250000');
  });

  it('writes the scope and resource schema URLs where the materializer gives them, as OpenTelemetry JS does', () => {
    const resources = new Map<string, Resource>();
    class WithSchema extends SpanMaterializer {
      override get instrumentationScope() {
        return { ...super.instrumentationScope, schemaUrl: 'https://opentelemetry.io/schemas/1.37.0' };
      }
      override resourceOf(project: string): Resource {
        let r = resources.get(project);
        if (!r)
          resources.set(
            project,
            (r = resourceFromAttributes(super.resourceOf(project).attributes, { schemaUrl: 'https://example.com/schema' })),
          );
        return r;
      }
    }
    const m = new WithSchema({}, '1.2.3');
    const spans = [fullSpan('shop'), rootSpan('bank')];
    // one scope object for every span, as the serializers group by identity
    const scope = m.instrumentationScope;
    const same = spans.map((s) => ({ ...m.toReadable(s), instrumentationScope: scope }));
    const pb = new OtlpRequestBuilder(m).build(spans.map(encodeStoredSpan));
    assert.deepEqual(Buffer.from(pb.body), Buffer.from(ProtobufTraceSerializer.serializeRequest(same)!));
    const json = new OtlpJsonBuilder(m).build(spans);
    assert.deepEqual(
      JSON.parse(Buffer.from(json.body).toString('utf8')),
      JSON.parse(Buffer.from(JsonTraceSerializer.serializeRequest(same)!).toString('utf8')),
    );
  });

  it('decodes with protobufjs into the fields the span was built from', () => {
    const Request = protobuf.parse(OTLP_TRACE_PROTO, { keepCase: true }).root.lookupType('otlp.ExportTraceServiceRequest');
    const body = new OtlpRequestBuilder(materializer).build([encodeStoredSpan(fullSpan())]).body;
    const req = Request.toObject(Request.decode(body), { longs: String, bytes: String, defaults: false }) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    const rs = req.resource_spans[0];
    const resource = Object.fromEntries(rs.resource.attributes.map((kv: any) => [kv.key, kv.value.string_value])); // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.equal(resource['service.name'], 'shop');
    assert.equal(resource['deployment.environment.name'], 'test');
    assert.deepEqual(rs.scope_spans[0].scope, { name: 'oprelay-bridge', version: '1.2.3' });
    const span = rs.scope_spans[0].spans[0];
    assert.equal(Buffer.from(span.trace_id, 'base64').toString('hex'), '0af7651916cd43dd8448eb211c80319c');
    assert.equal(Buffer.from(span.parent_span_id, 'base64').toString('hex'), 'b7ad6b7169203331');
    assert.equal(span.kind, 3); // CLIENT
    assert.equal(span.start_time_unix_nano, `${T0}000000`);
    assert.equal(span.end_time_unix_nano, `${T0 + 1234}500000`);
    const attr = (k: string) => span.attributes.find((kv: any) => kv.key === k).value; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.deepEqual(attr('gen_ai.usage.input_tokens'), { int_value: '1200' });
    assert.deepEqual(attr('negative'), { int_value: '-42' });
    assert.deepEqual(attr('gen_ai.usage.cost'), { double_value: 0.0125 });
    assert.deepEqual(attr('flag'), { bool_value: true });
    assert.deepEqual(attr('unicode'), { string_value: 'naïve — 日本語 🚀' });
    assert.equal(attr('long').string_value.length, 20_000);
    assert.deepEqual(attr('counts'), { array_value: { values: [{ int_value: '1' }, { int_value: '-2' }, { int_value: '3' }] } });
    assert.deepEqual(span.status, { message: 'rate limited', code: 2 });
    assert.equal(span.events.length, 2);
    assert.equal(span.links[0].attributes[0].key, 'oprelay.link');
    assert.equal(span.flags, 0x101);
  });

  it('reads back every field of the record it wrote', () => {
    const rec = fullSpan();
    const { project_key, span } = splitStoredSpan(encodeStoredSpan(rec));
    assert.equal(project_key, 'shop');
    assert.deepEqual(decodeSpan(span, project_key), rec);
    assert.deepEqual(decodeSpan(encodeSpan(rootSpan('bank')), 'bank'), rootSpan('bank'));
    // a key named __proto__ stays an attribute (an own property), not the object's prototype
    const odd = { ...rootSpan('p'), attributes: JSON.parse('{"__proto__": "x", "constructor": 1}') as Attributes };
    const back = decodeSpan(encodeSpan(odd), 'p');
    assert.deepEqual(Object.entries(back.attributes), [
      ['__proto__', 'x'],
      ['constructor', 1],
    ]);
    assert.equal(Object.getPrototypeOf(back.attributes), Object.prototype);
  });

  it('round-trips any attribute values (property)', () => {
    const scalar = fc.oneof(
      fc.string(),
      fc.boolean(),
      fc.integer(),
      fc.double({ noNaN: true }),
      fc.maxSafeInteger(),
      fc.constant(Infinity),
      fc.constant(-Infinity),
    );
    const value = fc.oneof(
      scalar,
      fc.array(fc.string(), { maxLength: 4 }),
      fc.array(fc.integer(), { maxLength: 4 }),
      fc.array(fc.boolean(), { maxLength: 4 }),
    );
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1 }), value), fc.integer({ min: 0, max: 2 ** 42 }), (attributes, start) => {
        const rec = { ...rootSpan('p'), attributes, start, end: start + 1 };
        const back = decodeSpan(encodeSpan(rec), 'p');
        // -0 is an integer 0 on the wire; everything else (±Infinity, huge doubles) comes back as it was
        const zero = (v: unknown) => (Object.is(v, -0) ? 0 : v);
        const expected = Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, Array.isArray(v) ? v.map(zero) : zero(v)]));
        assert.deepEqual(back.attributes, expected);
        assert.equal(back.start, start);
      }),
      { numRuns: 300 },
    );
  });

  it('encodes JSON rows written by earlier versions on read, as text or as bytes', () => {
    const rec = fullSpan();
    const json = JSON.stringify(rec);
    const expected = encodeStoredSpan(rec);
    assert.deepEqual(Buffer.from(storedSpanBytes(json)), expected);
    assert.deepEqual(Buffer.from(storedSpanBytes(Buffer.from(json))), expected);
    assert.deepEqual(spanOfStored(Buffer.from(json)), rec);
    const row = new StoredOutboxRow(1, 'run-1', T0, 0, json);
    assert.deepEqual(Buffer.from(row.stored), expected);
    assert.deepEqual(row.span, rec);
    assert.deepEqual(new StoredOutboxRow(2, 'run-1', T0, 0, expected).span, rec);
  });

  it('refuses an id that is not hex, naming it', () => {
    assert.throws(() => encodeSpan({ ...rootSpan('p'), span_id: 'not-hex-at-all!!' }), /hex digits: "not-hex-at-all!!"/);
  });

  it('writes lengths past one and two varint bytes and negative int64 varints', () => {
    const w = new ProtobufWriter();
    for (const n of [127, 128, 16_383, 16_384, 300_000]) {
      w.reset();
      const at = w.begin();
      w.raw(new Uint8Array(n).fill(7));
      w.end(at);
      const out = w.finish();
      const r = protobuf.Reader.create(out);
      assert.equal(r.uint32(), n);
      assert.equal(out.length - r.pos, n);
    }
    for (const v of [-1, -42, -(2 ** 40), 2 ** 33, 2 ** 62]) {
      w.reset();
      w.int64(v);
      assert.equal(Number(protobuf.Reader.create(w.finish()).int64().toString()), v);
    }
  });
});
