import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DataDirLock } from '../../src/store/data-dir-lock.js';
import { DataDirUnusable, ensureDataDir } from '../../src/store/data-dir.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';

describe('BRIDGE_DATA_DIR that cannot be a directory', () => {
  const root = mkdtempSync(join(tmpdir(), 'oprelay-data-dir-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const file = join(root, 'a-file');
  writeFileSync(file, 'not a directory');

  const namesTheVariable = (e: unknown) =>
    e instanceof DataDirUnusable && e.message.startsWith('BRIDGE_DATA_DIR: ') && e.message.includes(file) && !/EEXIST/.test(e.message);

  it('is refused naming the variable when it is a file, for serve (the lock) and for the CLI (the store)', () => {
    assert.throws(() => ensureDataDir(file), namesTheVariable);
    assert.throws(() => DataDirLock.acquire(file), namesTheVariable);
    assert.throws(() => SqliteStore.inDataDir(file), namesTheVariable);
  });

  it('is refused naming the variable when a parent is a file', () => {
    assert.throws(
      () => ensureDataDir(join(file, 'data')),
      (e: unknown) => e instanceof DataDirUnusable && /^BRIDGE_DATA_DIR: cannot create directory .*a-file\/data/.test(e.message),
    );
  });

  it('is created with its parents when missing', () => {
    ensureDataDir(join(root, 'x', 'y'));
    ensureDataDir(join(root, 'x', 'y'));
  });
});
