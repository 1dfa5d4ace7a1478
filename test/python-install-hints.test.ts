import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from './support/bridge-process.js';

// Every `pip install` the Python client and its docs tell a user to run names an install that
// exists: the client from the repository (`./clients/python`, with an extra pyproject.toml
// defines), or a third-party package the client itself depends on. The client is not on PyPI.

const PYPROJECT = readFileSync(join(ROOT, 'clients/python/pyproject.toml'), 'utf8');
const extras = new Map(
  [...(/\[project\.optional-dependencies\]\n([\s\S]*?)\n\n/.exec(PYPROJECT)?.[1] ?? '').matchAll(/^([\w-]+) = \[(.*)\]$/gm)].map((m) => [
    m[1]!,
    [...m[2]!.matchAll(/"([A-Za-z0-9_.-]+)/g)].map((d) => d[1]!),
  ]),
);
const dependencies = [...(/^dependencies = \[(.*)\]$/m.exec(PYPROJECT)?.[1] ?? '').matchAll(/"([A-Za-z0-9_.-]+)/g)].map((d) => d[1]!);
const known = new Set([...dependencies, ...[...extras.values()].flat()]);

function pythonFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? pythonFiles(join(dir, e.name)) : e.name.endsWith('.py') ? [join(dir, e.name)] : [],
  );
}

test('every pip install hint names an install that exists', () => {
  const sources = [...pythonFiles(join(ROOT, 'clients/python/src')), join(ROOT, 'docs/python.md'), join(ROOT, 'README.md')];
  const hints: string[] = [];
  for (const file of sources)
    for (const m of readFileSync(file, 'utf8').matchAll(/pip install ('[^']+'|\S+)/g))
      hints.push(`${m[1]!.replace(/^'|'$/g, '').replace(/[`")]+$/, '')}`);
  assert.ok(hints.length >= 4, `found the hints: ${hints.join(', ')}`);
  for (const hint of hints) {
    const fromRepo = /^\.\/clients\/python(?:\[([\w,-]+)\])?$/.exec(hint);
    if (fromRepo) {
      for (const extra of fromRepo[1]?.split(',') ?? [])
        assert.ok(extras.has(extra), `${hint}: pyproject.toml defines no extra "${extra}"`);
      continue;
    }
    assert.ok(known.has(hint), `${hint}: neither the client from the repository nor a package it depends on (the client is not on PyPI)`);
  }
});
