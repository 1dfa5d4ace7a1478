import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SpanMaterializer } from '../../src/export/readable-span.js';
import { GEN_AI, GEN_AI_METRICS, GEN_AI_SCHEMA_URL } from '../../src/telemetry/genai-conventions.js';
import { resourceAttributesOf } from '../../src/telemetry/resource-attributes.js';
import { spanRecord } from '../../src/telemetry/span-record.js';

// The GenAI mapping's names (docs/architecture.md#opentelemetry-mapping): where the gen_ai.* names
// live, the schema URL, and the resource every exported span carries.

describe('names and resource', () => {
  it('every gen_ai.* name in src/ is written in genai-conventions.ts only', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (path.endsWith('.ts')) files.push(path);
      }
    };
    walk('src');
    const literal = /['"`]gen_ai\.[a-z_.]+['"`]/;
    const offenders = files.filter(
      (f) => !f.endsWith('genai-conventions.ts') && literal.test(readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')),
    );
    assert.deepEqual(offenders, []);
    for (const name of Object.values(GEN_AI)) assert.match(name, /^gen_ai\.[a-z_.]+$/);
    for (const m of Object.values(GEN_AI_METRICS)) assert.match(m.name, /^gen_ai\.[a-z_.]+$/);
    assert.equal(GEN_AI.usageCacheWriteInputTokens, 'gen_ai.usage.cache_write.input_tokens');
    assert.equal(GEN_AI.usageCacheCreationInputTokensLegacy, 'gen_ai.usage.cache_creation.input_tokens');
    assert.equal(GEN_AI_SCHEMA_URL, 'https://opentelemetry.io/schemas/gen-ai-dev/1.42.0-dev');
  });

  it('resourceAttributesOf: the project as service and Phoenix project, over the operator attributes', () => {
    assert.deepEqual(resourceAttributesOf('shop', { 'deployment.environment': 'prod', 'service.name': 'ignored' }), {
      'deployment.environment': 'prod',
      'service.name': 'shop',
      'service.namespace': 'oprelay',
      'openinference.project.name': 'shop',
    });
    // what the export path builds from a stored span
    const readable = new SpanMaterializer({ team: 'sre' }, '1.2.3').toReadable(
      spanRecord({
        project_key: 'shop',
        trace_id: 'a'.repeat(32),
        span_id: 'b'.repeat(16),
        parent_span_id: null,
        trace_flags: 1,
        name: 'x',
        kind: 0,
        start: 1,
        end: 2,
        attributes: {},
      }),
    );
    assert.equal(readable.resource.attributes['openinference.project.name'], 'shop');
    assert.equal(readable.resource.attributes.team, 'sre');
    assert.equal(readable.resource.schemaUrl, GEN_AI_SCHEMA_URL);
    assert.equal(readable.instrumentationScope.schemaUrl, GEN_AI_SCHEMA_URL);
  });
});
