/* eslint-disable @typescript-eslint/no-explicit-any -- parsed YAML documents have an open shape */
/**
 * The peers the end-to-end tests build (peers/) and the images docker-compose.yml runs are the same
 * versions, and the collector manifest lists exactly the components otel-collector.yaml uses.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { ROOT } from './support/bridge-process.js';

const read = (...parts: string[]) => readFileSync(join(ROOT, ...parts), 'utf8');
const compose = parse(read('docker-compose.yml')) as any;
const manifest = parse(read('peers/otelcol/manifest.yaml')) as any;
const collector = parse(read('otel-collector.yaml')) as any;

const imageTag = (service: string) => String(compose.services[service].image).split(':').pop();

test('compose runs the Collector release the manifest builds, and every manifest module is at that release', () => {
  const release = String(manifest.dist.version);
  assert.equal(imageTag('otel-collector'), release);
  const modules = ['extensions', 'receivers', 'processors', 'connectors', 'exporters'].flatMap((kind) =>
    (manifest[kind] as { gomod: string }[]).map((m) => m.gomod),
  );
  for (const gomod of modules) assert.equal(gomod.split(' ')[1], `v${release}`, `${gomod} is at the manifest's release`);
});

test('the manifest lists exactly the component types otel-collector.yaml uses', () => {
  // A module's component type is the last path element without its kind suffix (otlpreceiver → otlp);
  // the ones whose type differs from their module name are named here.
  const typeOf: Record<string, string> = {
    otlpexporter: 'otlp_grpc',
    filestorage: 'file_storage',
    healthcheckextension: 'health_check',
    memorylimiterprocessor: 'memory_limiter',
  };
  for (const kind of ['extensions', 'receivers', 'processors', 'connectors', 'exporters']) {
    const suffix = kind.slice(0, -1);
    const built = (manifest[kind] as { gomod: string }[])
      .map((m) => m.gomod.split(' ')[0]!.split('/').pop()!)
      .map((name) => typeOf[name] ?? name.replace(new RegExp(`${suffix}$`), ''))
      .sort();
    const used = [...new Set(Object.keys(collector[kind]).map((id) => id.split('/')[0]!))].sort();
    assert.deepEqual(built, used, `${kind}: built ${built.join(', ')}; used ${used.join(', ')}`);
  }
});

test('compose runs the Jaeger release that peers/jaeger builds, on the same config file', () => {
  const goMod = read('peers/jaeger/go.mod');
  assert.match(goMod, /^tool github\.com\/jaegertracing\/jaeger\/cmd\/jaeger$/m);
  assert.match(goMod, /^\s*github\.com\/jaegertracing\/jaeger v1\.75\.0\b/m, 'Go module v1.75.0 is Jaeger 2.12.0');
  assert.equal(imageTag('jaeger'), '2.12.0');
  assert.deepEqual(compose.services.jaeger.command, ['--config', '/etc/jaeger/config.yaml']);
  assert.ok(compose.services.jaeger.volumes.includes('./deploy/jaeger/config.yaml:/etc/jaeger/config.yaml:ro'));
});

test('every endpoint in the collector and Jaeger configs can be moved by the environment, defaulting to compose', () => {
  for (const file of ['otel-collector.yaml', 'deploy/jaeger/config.yaml']) {
    const endpoints = [...read(file).matchAll(/^\s*(endpoint|directory|host|port):\s*(.+)$/gm)].map((m) => m[2]!.trim());
    assert.ok(endpoints.length >= 5, `${file} has its endpoints`);
    for (const value of endpoints) assert.match(value, /^\$\{env:[A-Z_]+:-[^}]+\}$/, `${file}: ${value} uses \${env:NAME:-default}`);
  }
});
