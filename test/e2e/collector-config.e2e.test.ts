/** The deployment's config files, checked by the programs that read them. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { peerBinary } from './support/peer-process.js';
import { COLLECTOR_CONFIG, JAEGER_CONFIG } from './support/stack.js';

test('otelcol validate accepts otel-collector.yaml as compose runs it (defaults) and as the tests run it', () => {
  const collector = peerBinary('otelcol-oprelay');
  for (const env of [{}, { OTELCOL_OTLP_HTTP_ENDPOINT: '127.0.0.1:14318', JAEGER_OTLP_GRPC_ENDPOINT: '127.0.0.1:14317' }]) {
    const run = spawnSync(collector, ['validate', '--config', COLLECTOR_CONFIG], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, ...env },
    });
    assert.equal(run.status, 0, `otelcol validate failed:\n${run.stdout}${run.stderr}`);
  }
});

test('otelcol validate rejects a config with an unknown component, so the check above can fail', () => {
  const run = spawnSync(
    peerBinary('otelcol-oprelay'),
    ['validate', '--config', COLLECTOR_CONFIG, '--set', 'service.pipelines.traces.exporters=[zipkin]'],
    {
      encoding: 'utf8',
    },
  );
  assert.notEqual(run.status, 0);
  assert.match(`${run.stdout}${run.stderr}`, /zipkin/);
});

test('jaeger validate accepts deploy/jaeger/config.yaml', () => {
  const run = spawnSync(peerBinary('jaeger'), ['validate', '--config', JAEGER_CONFIG], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH },
  });
  assert.equal(run.status, 0, `jaeger validate failed:\n${run.stdout}${run.stderr}`);
});
