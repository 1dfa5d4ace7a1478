import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it, mock } from 'node:test';
import { KeyRing, createStoredKey } from '../src/auth/api-keys.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { redactText, redactValue } from '../src/telemetry/redact.js';
import { AGENT_ID, BridgeProcess } from './support/bridge-process.js';
import { OtlpReceiver } from './support/otlp-receiver.js';

// SECURITY.md's rules that the other security tests do not reach: the remaining key shapes, the
// constant-time key lookup, the whole-request timeout and `__proto__` keys in open objects. That the
// redactor stays linear on hostile input is shown by the size sweep in bench/redact-sweep.ts.

describe('the redactor knows every key shape SECURITY.md lists', () => {
  // documentation-style examples of each shape, with the text an agent might wrap them in
  const SHAPES: { shape: string; secret: string; text: (s: string) => string }[] = [
    { shape: 'sk_live_', secret: 'sk_live_4eC39HqLyjWDarjtT1zdp7dc', text: (s) => `stripe.api_key = "${s}"` },
    { shape: 'sk_test_', secret: 'sk_test_51HcJ2kLmNoPqRsTuVwXyZ0123', text: (s) => `STRIPE_KEY=${s} in .env` },
    {
      shape: 'github_pat_',
      secret: 'github_pat_11ABCDEFG0aBcDeFgHiJkL_mNoPqRsTuVwXyZ0123456789aBcDeFgHiJkLmNoPqRsTuV',
      text: (s) => `git push with token ${s}`,
    },
    { shape: 'AIza', secret: 'AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY', text: (s) => `maps?key=${s}&q=x` },
    { shape: 'ASIA', secret: 'ASIAIOSFODNN7EXAMPLE', text: (s) => `aws_access_key_id=${s}` },
  ];
  for (const { shape, secret, text } of SHAPES) {
    it(`${shape}…: replaced by [REDACTED:api_key], the text around it kept`, () => {
      const input = text(secret);
      assert.equal(redactText(input), input.replace(secret, '[REDACTED:api_key]'));
      assert.deepEqual(redactValue({ meta: [input] }), { meta: [input.replace(secret, '[REDACTED:api_key]')] });
    });
  }

  it('a JWT is found where a token starts; a hostile run of "eyJ-" is left as it is', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
    for (const before of [' ', '=', '"', ':', '.', '(']) assert.equal(redactText(`token${before}${jwt}.`), `token${before}[REDACTED:jwt].`);
    assert.equal(redactText(`key${jwt}`), `key${jwt}`, 'inside a longer word it is no token');
    const hostile = 'eyJ-'.repeat(4000);
    assert.equal(redactText(hostile), hostile);
  });

  it('leaves prose that only starts like these shapes alone', () => {
    for (const text of [
      'the sk_live_ prefix marks live keys',
      'github_pat_ tokens expire',
      'AIza is a prefix',
      'ASIA and EUROPE regions',
    ]) {
      assert.equal(redactText(text), text);
    }
  });
});

describe('API keys are compared digest against digest in constant time, against every key', () => {
  const compared: [number, number][] = [];
  before(() => {
    const original = crypto.timingSafeEqual;
    mock.method(crypto, 'timingSafeEqual', (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      compared.push([a.byteLength, b.byteLength]);
      return original(a, b);
    });
    // named imports of node:crypto (as in src/auth) follow the mocked function only after this
    syncBuiltinESMExports();
  });
  after(() => {
    mock.restoreAll();
    syncBuiltinESMExports();
  });

  it('a matching key, a key of another length and an unknown key each take one SHA-256 comparison per known key', async () => {
    const store = new MemoryStore();
    await store.init();
    const first = await createStoredKey(store, ['p1'], 'first');
    const second = await createStoredKey(store, ['p2'], 'second');
    const ring = new KeyRing(store, [
      { key: 'env-key-alpha-0001', projects: ['a'], readOnly: false },
      { key: 'env-key-beta-0002', projects: ['b'], readOnly: false },
    ]);
    const cases: [string, string[] | undefined][] = [
      ['env-key-alpha-0001', ['a']],
      ['env-key-beta-0002', ['b']],
      [first.key, ['p1']],
      [second.key, ['p2']],
      ['x', undefined],
      [`${second.key}-and-longer`, undefined],
      ['', undefined],
    ];
    for (const [presented, projects] of cases) {
      compared.length = 0;
      const principal = await ring.authenticate(presented);
      assert.deepEqual(principal?.projects, projects, presented);
      assert.deepEqual(
        compared,
        [
          [32, 32],
          [32, 32],
          [32, 32],
          [32, 32],
        ],
        `${presented}: no early exit, digests only`,
      );
    }
    await store.close();
  });
});

describe('hostile requests at the HTTP edge', () => {
  const receiver = new OtlpReceiver();
  let b: BridgeProcess;
  before(async () => {
    await receiver.start();
    b = await BridgeProcess.start({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
  });
  after(async () => {
    await b?.dispose();
    await receiver.stop();
  });

  it('a "__proto__" key in meta_json is dropped: not stored, not exported, no prototype changed; "constructor" stays data', async () => {
    const runId = '7a7a7a7a-1111-4222-8333-444444444444';
    const body = `{"project_key":"proto","agent_id":"${AGENT_ID}","run_id":"${runId}","meta_json":{"__proto__":{"proto_marker":"PROTO-MARKER-7f3a"},"constructor":"CTOR-MARKER-9b1c","note":"kept"}}`;
    const res = await fetch(`${b.url}/v1/tools/core_start_run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal((await b.tool('core_end_run', { run_id: runId, status: 'completed' })).status, 200);

    const view = await b.get(`/v1/runs/${runId}`);
    assert.equal(view.status, 200);
    assert.ok(!view.text.includes('PROTO-MARKER') && !view.text.includes('proto_marker'), view.text);

    const spans = await receiver.waitFor(
      (all) => all.some((s) => s.name.startsWith('invoke_agent') && s.attributes['oprelay.run.id'] === runId),
      10_000,
      'root span',
    );
    const root = spans.find((s) => s.name.startsWith('invoke_agent') && s.attributes['oprelay.run.id'] === runId)!;
    assert.equal(root.attributes['oprelay.meta.constructor'], 'CTOR-MARKER-9b1c');
    assert.equal(root.attributes['oprelay.meta.note'], 'kept');
    assert.ok(!JSON.stringify(receiver.byTrace(root.traceId)).includes('PROTO-MARKER'), 'nothing of __proto__ was exported');

    const stored = readdirSync(b.dataDir)
      .map((f) => readFileSync(join(b.dataDir, f)).toString('latin1'))
      .join('\n');
    assert.ok(stored.includes('CTOR-MARKER-9b1c'), 'the constructor value is stored as data');
    assert.ok(!stored.includes('PROTO-MARKER-7f3a') && !stored.includes('proto_marker'), 'nothing of __proto__ is stored');
    assert.equal((await b.get('/healthz')).status, 200, 'the bridge still answers');
  });

  it('a request whose body is still arriving after requestTimeout (30 s) is answered 408 and disconnected', async () => {
    const socket = connect(Number(new URL(b.url).port), '127.0.0.1');
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString()));
    const body = JSON.stringify({ project_key: 'slow', agent: 'a', summary: 's' });
    // complete headers, then the body one byte a second: never done before the 30 s request timeout
    socket.write(
      `POST /v1/tools/record_run HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length + 100}\r\n\r\n`,
    );
    let sent = 0;
    const drip = setInterval(() => socket.writable && socket.write(body[sent++ % body.length]!), 1000);
    const startedAt = Date.now();
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`still connected after 60 s; received: ${received}`)), 60_000);
        socket.on('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    } finally {
      clearInterval(drip);
      socket.destroy();
    }
    assert.match(received, /^HTTP\/1\.1 408 /);
    assert.ok(Date.now() - startedAt >= 25_000, `not cut before the request timeout (closed after ${Date.now() - startedAt} ms)`);
    const runs = (await b.get('/v1/runs?project_key=slow')).body as { runs: unknown[] };
    assert.deepEqual(runs.runs, [], 'the cut request recorded nothing');
  });
});
