import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// The import rules of docs/architecture.md#import-rules, checked on the source as it is.

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

interface Edge {
  from: string;
  to: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Every relative import in src, as paths relative to src ("runs/model.ts"). */
function edges(): Edge[] {
  const out: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^(import|export)\s+(type\s+)?[^;]*?\sfrom\s+'(\.{1,2}\/[^']+)';/gms)) {
      const target = join(dirname(file), m[3]).replace(/\.js$/, '.ts');
      out.push({ from: relative(SRC, file), to: relative(SRC, target), typeOnly: m[2] !== undefined });
    }
  }
  return out;
}

const folderOf = (path: string) => (path.includes('/') ? path.split('/')[0] : path);

describe('import rules', () => {
  const all = edges();

  it('finds the imports it checks', () => {
    assert.ok(all.length > 100, `${all.length} imports`);
    assert.ok(all.some((e) => e.from === 'runs/run-service.ts' && e.to === 'store/run-store.ts'));
  });

  it('only the entry points import the composition root', () => {
    const importers = all
      .filter((e) => e.to === 'bridge.ts')
      .map((e) => e.from)
      .sort();
    assert.deepEqual(importers, ['cli.ts', 'index.ts']);
  });

  it('store/ and telemetry/ take no value from runs/, tools/, http/, mcp/, export/ or auth/', () => {
    const upward = all.filter(
      (e) =>
        ['store', 'telemetry'].includes(folderOf(e.from)) &&
        !e.typeOnly &&
        ['runs', 'tools', 'http', 'mcp', 'export', 'auth'].includes(folderOf(e.to)),
    );
    assert.deepEqual(upward, []);
  });

  it('runs/ imports nothing from tools/, http/, mcp/ or export/ but types of tools/schemas.ts', () => {
    const upward = all.filter((e) => folderOf(e.from) === 'runs' && ['tools', 'http', 'mcp', 'export'].includes(folderOf(e.to)));
    assert.deepEqual(
      upward.filter((e) => !(e.typeOnly && e.to === 'tools/schemas.ts')),
      [],
    );
  });

  it('export/ and auth/ import nothing from runs/, tools/, http/ or mcp/', () => {
    const upward = all.filter(
      (e) => ['export', 'auth'].includes(folderOf(e.from)) && ['runs', 'tools', 'http', 'mcp'].includes(folderOf(e.to)),
    );
    assert.deepEqual(upward, []);
  });

  it('tools/ imports nothing from http/, mcp/ or export/', () => {
    assert.deepEqual(
      all.filter((e) => folderOf(e.from) === 'tools' && ['http', 'mcp', 'export'].includes(folderOf(e.to))),
      [],
    );
  });
});
