import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import { BridgeError } from '../../src/errors.js';
import { writeError } from '../../src/http/error-handler.js';
import { RecordingLog } from './fakes.js';

// writeError, the one place errors become HTTP answers, with a response that records what it got.

class RecordingResponse {
  headersSent = false;
  destroyed = false;
  status = 0;
  headers: Record<string, string | number> = {};
  body = '';
  writeHead(status: number, headers: Record<string, string | number>) {
    this.status = status;
    this.headers = headers;
    return this;
  }
  end(text: string) {
    this.body = text;
    this.headersSent = true;
  }
  destroy() {
    this.destroyed = true;
  }
}

/** An error shaped like the ones body-parser throws (http-errors with a `type`). */
function bodyParserError(message: string, fields: { type: string; status: number; limit?: number }): Error {
  return Object.assign(new Error(message), fields);
}

function answer(err: unknown) {
  const res = new RecordingResponse();
  const log = new RecordingLog();
  writeError(res as unknown as ServerResponse, err, log, '/session');
  return { status: res.status, headers: res.headers, body: JSON.parse(res.body) as { error: Record<string, unknown> }, log };
}

describe('writeError', () => {
  it('a BridgeError answers its status and body; 503 carries Retry-After, 401 WWW-Authenticate', () => {
    const busy = answer(new BridgeError('backpressure', 'the outbox is full', undefined, 5));
    assert.equal(busy.status, 503);
    assert.equal(busy.headers['Retry-After'], '5');
    assert.deepEqual(busy.body, { error: { code: 'backpressure', message: 'the outbox is full' } });
    assert.equal(answer(new BridgeError('unauthorized', 'missing key')).headers['WWW-Authenticate'], 'Bearer');
  });

  it('a form body over its limit is a 413 naming the limit body-parser enforced', () => {
    const { status, body } = answer(bodyParserError('request entity too large', { type: 'entity.too.large', status: 413, limit: 4096 }));
    assert.equal(status, 413);
    assert.deepEqual(body.error, {
      code: 'payload_too_large',
      message: 'body: must be at most 4096 bytes',
      details: [{ path: 'body', message: 'body too large', limit: 4096 }],
    });
  });

  it('a form with too many fields is a 413, not an internal error', () => {
    const { status, body, log } = answer(bodyParserError('too many parameters', { type: 'parameters.too.many', status: 413 }));
    assert.equal(status, 413);
    assert.equal(body.error.code, 'payload_too_large');
    assert.equal(body.error.message, 'body: too many form fields');
    assert.equal(log.lines.length, 0);
  });

  it('an unsupported charset is a 415', () => {
    const { status, body } = answer(bodyParserError('unsupported charset "KOI8-R"', { type: 'charset.unsupported', status: 415 }));
    assert.equal(status, 415);
    assert.equal(body.error.message, 'body: unsupported charset "KOI8-R"');
  });

  it('anything else is a 500 with a correlation id that the log carries too', () => {
    const { status, body, log } = answer(new TypeError('x is undefined'));
    assert.equal(status, 500);
    assert.equal(body.error.code, 'internal');
    assert.match(String(body.error.correlation_id), /^[0-9a-f-]{36}$/);
    assert.equal(log.lines[0].msg, 'internal error');
    assert.equal(log.lines[0].fields?.correlation_id, body.error.correlation_id);
  });
});
