import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

// The test run's summary names every skipped suite and test with its reason: the built-in count
// leaves out the tests of a skipped suite (six skipped read as three without Chromium).

const ROOT = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'oprelay-skip-summary-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('npm test ends with each skipped suite and test, where it is and why', () => {
  const file = join(dir, 'sample.test.mjs');
  writeFileSync(
    file,
    `import { describe, it, test } from 'node:test';
describe('needs a browser', { skip: 'Chromium: /usr/bin/chromium is missing' }, () => { it('one', () => {}); it('two', () => {}); });
test('without a reason', { skip: true }, () => {});
test('runs', () => {});
describe('alerts', () => { it('promtool check', (t) => t.skip('promtool missing')); });
`,
  );
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const reporterArgs = pkg.scripts.test.split(' ').filter((a) => a.startsWith('--test-reporter'));
  assert.ok(reporterArgs.includes('--test-reporter=./scripts/skip-summary-reporter.mjs'), 'npm test uses the reporter');
  // a node --test inside a test reports to its parent unless NODE_TEST_CONTEXT is dropped
  const { NODE_TEST_CONTEXT: _parent, ...env } = process.env;
  const run = spawnSync(process.execPath, ['--test', ...reporterArgs, file], { cwd: ROOT, encoding: 'utf8', env });
  assert.equal(run.status, 0, run.stderr);
  const summary = run.stdout.slice(run.stdout.lastIndexOf('\nskipped '));
  assert.ok(summary.startsWith('\nskipped 3: 1 suite (none of their tests ran) and 2 tests\n'), summary);
  assert.match(summary, new RegExp(`suite .*sample\\.test\\.mjs › needs a browser: Chromium: /usr/bin/chromium is missing`));
  assert.match(summary, /test {2}.*sample\.test\.mjs › without a reason: no reason given/);
  assert.match(summary, /test {2}.*sample\.test\.mjs › alerts › promtool check: promtool missing/);
});
