import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactText, redactValue } from '../src/telemetry/redact.js';

/** One realistic example of every secret shape the redactor knows, with the kind it reports. */
const SECRETS: { kind: string; secret: string; text: (s: string) => string }[] = [
  { kind: 'api_key', secret: 'sk-proj-4fG7hJ2kL9mN3pQ8rS1tU6vW0xY5zA2bC7dE', text: (s) => `using OPENAI_API_KEY=${s} for the call` },
  { kind: 'api_key', secret: 'sk-ant-api03-Xy7Qw9Er3Ty6Ui1Op4As8Df2Gh5Jk0Lz', text: (s) => `anthropic key ${s}` },
  { kind: 'api_key', secret: 'AKIAIOSFODNN7EXAMPLE', text: (s) => `aws_access_key_id = ${s}` },
  { kind: 'api_key', secret: 'ghp_1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R', text: (s) => `git clone https://github.com/o/r using ${s}` },
  { kind: 'api_key', secret: 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx', text: (s) => `slack token: ${s}` },
  {
    kind: 'bearer',
    secret: 'Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0',
    text: (s) => `curl -H "Authorization: ${s}" https://api.example.com`,
  },
  { kind: 'url_password', secret: 'S3cr3tPassw0rd', text: (s) => `connect postgres://admin:${s}@db.internal:5432/app failed` },
  {
    kind: 'jwt',
    secret: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
    text: (s) => `session cookie ${s} expired`,
  },
  {
    kind: 'private_key',
    secret:
      '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1c7+9z5Pad7OejecsQ0bu3aumt5bGR1pTZ0A3aBmH6gHwGzX\n-----END RSA PRIVATE KEY-----',
    text: (s) => `key file:\n${s}\nend`,
  },
];

describe('redactText', () => {
  for (const { kind, secret, text } of SECRETS) {
    it(`redacts ${kind}: ${secret.slice(0, 12)}…`, () => {
      const out = redactText(text(secret));
      assert.ok(out.includes(`[REDACTED:${kind}]`), out);
      // the secret's distinctive body is gone (for a bearer token: the token after the scheme)
      const body = kind === 'bearer' ? secret.split(' ')[1] : secret;
      assert.ok(!out.includes(body), out);
    });
  }

  it('keeps the text around a secret', () => {
    assert.equal(
      redactText('connect postgres://admin:S3cr3t@db:5432/app now'),
      'connect postgres://admin:[REDACTED:url_password]@db:5432/app now',
    );
    assert.equal(redactText('key AKIAIOSFODNN7EXAMPLE.'), 'key [REDACTED:api_key].');
  });

  it('redacts several secrets in one text', () => {
    const out = redactText(`a=${SECRETS[0].secret} b=${SECRETS[2].secret}`);
    assert.equal(out, 'a=[REDACTED:api_key] b=[REDACTED:api_key]');
  });

  it('redacts a private key whose END line was cut off', () => {
    assert.equal(redactText('x -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC'), 'x [REDACTED:private_key]');
  });

  const ORDINARY = [
    'task-force meeting about the risk-assessment-framework-overview',
    'see https://example.com:8443/docs/path?q=1&page=2#frag',
    'clone https://github.com/open-telemetry/opentelemetry-js.git',
    'mail user@example.com or visit https://user@example.com/profile',
    'run 6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b in project myproject',
    'the bearer of this letter is authorised',
    'pip install sk-learn-preprocessing-pipeline',
    'xoxo-gossip-girl-season-finale',
    'Database connection timeout during migration: Error: connect ETIMEDOUT 10.0.0.5:5432',
    'model claude-opus-4 answered in 1200 ms; cost 0.028 USD',
    'BEGIN TRANSACTION; UPDATE runs SET status = 1; COMMIT',
  ];
  for (const text of ORDINARY) {
    it(`leaves ordinary text unchanged: ${text.slice(0, 40)}`, () => assert.equal(redactText(text), text));
  }

  it('handles hostile repetitions of secret prefixes without redacting prose', () => {
    const hostile = `${'sk-'.repeat(5000)} ${'bearer '.repeat(2000)}.\n${'xoxb-'.repeat(2000)}`;
    const out = redactText(hostile);
    assert.ok(out === hostile, `changed: ${out.replace(/(sk-|bearer |xoxb-){3,}/g, '…').slice(0, 200)}`);
  });
});

describe('redactValue', () => {
  it('redacts every string in nested objects and arrays, keeping keys, numbers and booleans', () => {
    const value = {
      note: 'token AKIAIOSFODNN7EXAMPLE',
      n: 3,
      ok: true,
      none: null,
      list: ['plain', { deep: 'postgres://u:pw123@h/db' }],
    };
    assert.deepEqual(redactValue(value), {
      note: 'token [REDACTED:api_key]',
      n: 3,
      ok: true,
      none: null,
      list: ['plain', { deep: 'postgres://u:[REDACTED:url_password]@h/db' }],
    });
  });

  it('keeps a "__proto__" key as data and never changes a prototype', () => {
    const input = JSON.parse('{"__proto__": {"polluted": "AKIAIOSFODNN7EXAMPLE"}, "a": 1}') as Record<string, unknown>;
    const out = redactValue(input);
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.deepEqual(Object.keys(out), ['__proto__', 'a']);
    assert.equal(JSON.stringify(out), '{"__proto__":{"polluted":"[REDACTED:api_key]"},"a":1}');
    assert.equal((out as { polluted?: unknown }).polluted, undefined);
    assert.equal(({} as { polluted?: unknown }).polluted, undefined);
  });
});
