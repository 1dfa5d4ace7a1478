import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import protobuf from 'protobufjs';
import { collectorMessage, protobufStatusMessage } from '../../src/export/collector-transport.js';
import { RunMetrics } from '../../src/telemetry/run-metrics.js';
import { OtlpReceiver } from '../support/otlp-receiver.js';

// The OTLP metrics push speaks the configured encoding (http/protobuf unless told otherwise), and a
// collector's refusal is read in either encoding.

async function firstPush(protocol: 'http/protobuf' | 'http/json'): Promise<{ contentType: string; body: Buffer }> {
  const receiver = await new OtlpReceiver().start();
  const errors: unknown[] = [];
  const metrics = new RunMetrics({
    maxSeries: 10,
    prometheus: false,
    otlp: {
      protocol,
      url: `${receiver.url}/v1/metrics`,
      intervalMs: 100,
      timeoutMs: 2_000,
      headers: {},
      onExport: (e) => e && errors.push(e),
    },
    resourceAttributes: {},
    instanceId: 'test',
    version: '0',
    gauges: { activeRuns: async () => new Map(), outbox: () => ({ depth: 3, oldestAgeMs: 5 }) },
  });
  try {
    for (let i = 0; i < 100 && receiver.metricsRequests.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
  } finally {
    await metrics.shutdown();
    await receiver.stop();
  }
  assert.deepEqual(errors, [], 'every push delivered');
  assert.ok(receiver.metricsRequests.length > 0, 'no push reached the receiver');
  return receiver.metricsRequests[0]!;
}

describe('the OTLP metrics push', () => {
  it('sends http/protobuf: an ExportMetricsServiceRequest with the bridge resource', async () => {
    const push = await firstPush('http/protobuf');
    assert.equal(push.contentType, 'application/x-protobuf');
    assert.equal(push.body[0], 0x0a, 'field 1 (resource_metrics), length-delimited');
    assert.ok(push.body.includes(Buffer.from('oprelay-bridge')), 'service.name in the resource');
    assert.throws(() => JSON.parse(push.body.toString('utf8')));
  });

  it('sends http/json when configured', async () => {
    const push = await firstPush('http/json');
    assert.equal(push.contentType, 'application/json');
    const request = JSON.parse(push.body.toString('utf8')) as { resourceMetrics: { resource: { attributes: { key: string }[] } }[] };
    assert.ok(request.resourceMetrics[0]!.resource.attributes.some((a) => a.key === 'service.name'));
  });
});

describe("a collector's refusal", () => {
  const RpcStatus = protobuf
    .parse('syntax = "proto3"; message S { int32 code = 1; string message = 2; repeated bytes details = 3; }')
    .root.lookupType('S');
  const encode = (o: object) => RpcStatus.encode(RpcStatus.fromObject(o)).finish();

  it('reads the message of a protobuf google.rpc.Status, details and unknown order included', () => {
    assert.equal(protobufStatusMessage(encode({ code: 3, message: 'span too old' })), 'span too old');
    assert.equal(protobufStatusMessage(encode({ code: 3, message: 'grüße', details: [Buffer.from([1, 2, 3])] })), 'grüße');
    assert.equal(protobufStatusMessage(encode({ code: -1, message: 'negative code' })), 'negative code', 'a 10-byte varint');
    assert.equal(protobufStatusMessage(encode({ code: 14 })), undefined, 'no message');
  });

  it('gives undefined, never an exception, for a body that is not one', () => {
    for (const body of [
      Buffer.from('{"code":3,"message":"json"}'),
      Buffer.from('Bad Request'),
      Buffer.from([0x12, 0x05, 0x61]), // a message longer than the body
      Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // a varint that never ends
      Buffer.from([0x0d, 0, 0, 0, 0]), // fixed32: not in a Status
      new Uint8Array(0),
    ])
      assert.equal(protobufStatusMessage(body), undefined, JSON.stringify([...body]));
    assert.equal(collectorMessage('{"code":3,"message":"json"}'), 'json');
  });
});
