import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BRIDGE_ERROR_CODES, createBackgroundClient, createClient, OprelayError } from '@oprelay/client';
import * as rootClient from 'oprelay-bridge/client';
import { expectedClientSchemas } from '../scripts/client-schemas.js';
import { HTTP_STATUS } from '../src/errors.js';
import { AGENT_ID, BridgeProcess, freePort, ROOT } from './support/bridge-process.js';

const PROJECT = 'pkg-test';

/** A fetch that holds every request until `open()` is called: the queue's bound is then observable. */
function gatedFetch(): { fetch: typeof fetch; open: () => void } {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  return { fetch: async (input, init) => gate.then(() => fetch(input, init)), open };
}

describe('light client package', () => {
  it('its schema copies are exactly the bridge schemas they were generated from', () => {
    const expected = expectedClientSchemas();
    assert.equal(expected.size, 3);
    for (const [path, content] of expected) {
      const actual = readFileSync(join(ROOT, path), 'utf8');
      assert.ok(actual === content, `${path} drifted from its source: run npm run generate:client-schemas`);
    }
  });

  it("docs/typescript.md's pack figures and the README's tarball name are what npm pack says", () => {
    const { NODE_TEST_CONTEXT: _parent, ...env } = process.env;
    const run = spawnSync('npm', ['pack', '--workspace', '@oprelay/client', '--dry-run', '--json'], { cwd: ROOT, encoding: 'utf8', env });
    assert.equal(run.status, 0, run.stderr);
    const [pack] = JSON.parse(run.stdout) as { size: number; unpackedSize: number; entryCount: number; filename: string }[];
    const kB = (bytes: number) => `${(bytes / 1000).toFixed(1)} kB`;
    const doc = readFileSync(join(ROOT, 'docs/typescript.md'), 'utf8');
    assert.ok(
      doc.includes(`gives ${kB(pack!.size)} (${kB(pack!.unpackedSize)} unpacked, ${pack!.entryCount} files;`),
      `docs/typescript.md states npm pack's figures: ${kB(pack!.size)}, ${kB(pack!.unpackedSize)} unpacked, ${pack!.entryCount} files`,
    );
    assert.ok(doc.includes(`writes \`${pack!.filename}\``));
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    assert.ok(readme.includes(`npm install ./${pack!.filename}`), 'the README installs the tarball npm pack writes');
    assert.match(
      readme,
      /```ts\nimport \{ createClient \} from '@oprelay\/client';/,
      'the README snippet imports the package a user installs',
    );
  });

  it('knows every error code the bridge answers with', () => {
    assert.deepEqual([...BRIDGE_ERROR_CODES].sort(), Object.keys(HTTP_STATUS).sort());
  });

  it('depends on zod alone at run time, with ai as an optional peer', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'packages/client/package.json'), 'utf8')) as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(pkg.dependencies), ['zod']);
    const rootPkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
    assert.equal(pkg.dependencies.zod, rootPkg.dependencies.zod, 'one zod version for bridge and client');
    assert.deepEqual(pkg.peerDependencies, { ai: '^6.0.0' });
    assert.deepEqual(pkg.peerDependenciesMeta, { ai: { optional: true } });
    assert.deepEqual(pkg.bin, { oprelay: 'dist/cli.js' });
  });

  it('the oprelay command does not load zod (every hook call pays for what it loads)', () => {
    const dist = join(ROOT, 'packages/client/dist');
    const loaded = new Set<string>();
    const bare = new Set<string>();
    const visit = (file: string) => {
      if (loaded.has(file)) return;
      loaded.add(file);
      for (const m of readFileSync(file, 'utf8').matchAll(
        /^(?:import\s*['"]([^'"]+)['"]|(?:import|export)\s[^'"]*?\bfrom\s*['"]([^'"]+)['"])/gm,
      )) {
        const spec = m[1] ?? m[2];
        if (spec.startsWith('.')) visit(join(file, '..', spec));
        else bare.add(spec);
      }
    };
    visit(join(dist, 'cli.js'));
    assert.ok(loaded.has(join(dist, 'hook/spool.js')) && loaded.has(join(dist, 'transport.js')), 'the walk follows the hook modules');
    assert.deepEqual(
      [...bare].filter((s) => !s.startsWith('node:')),
      [],
    );
  });

  it('oprelay-bridge/client is the same client', () => {
    assert.equal(rootClient.createClient, createClient);
    assert.equal(rootClient.OprelayError, OprelayError);
  });
});

describe('background client', () => {
  let bridge: BridgeProcess;
  before(async () => {
    bridge = await BridgeProcess.start();
  });
  after(async () => {
    await bridge.dispose();
  });

  it('sends queued calls in order off the caller, and flush waits for them', async () => {
    const client = createBackgroundClient({ url: bridge.url });
    const runId = client.startRun({ project_key: PROJECT, agent_id: AGENT_ID, meta_json: { agent_name: 'bg' } });
    for (let i = 1; i <= 3; i++)
      assert.equal(
        client.send('core_report_usage', {
          run_id: runId,
          token_usage: { input_tokens: 10 * i, output_tokens: i, model: 'gpt-4o', llm_calls: 1 },
        }),
        true,
      );
    assert.equal(client.send('core_end_run', { run_id: runId, status: 'completed' }), true);
    assert.equal(await client.flush(), true);
    assert.deepEqual(client.stats(), { queued: 0, sent: 5, failed: 0, dropped: 0 });
    assert.deepEqual(client.runIdentity(runId), { project_key: PROJECT, agent_id: AGENT_ID });
    const run = await client.awaited.getRun(runId);
    assert.equal(run.status, 'completed');
    assert.equal(run.totals.input_tokens, 60);
    assert.equal(run.totals.output_tokens, 6);
    assert.equal(run.totals.llm_calls, 3);
  });

  it('drops and counts calls past its bound, never throwing', async () => {
    const gate = gatedFetch();
    const errors: unknown[] = [];
    const client = createBackgroundClient({ url: bridge.url, fetch: gate.fetch, maxQueue: 3, onError: (e) => errors.push(e) });
    const runId = client.startRun({ project_key: PROJECT, agent_id: AGENT_ID });
    const usage = { run_id: runId, token_usage: { input_tokens: 5, llm_calls: 1 } };
    assert.equal(client.send('core_report_usage', usage), true);
    assert.equal(client.send('core_report_usage', usage), true);
    assert.equal(client.send('core_report_usage', usage), false);
    assert.equal(client.send('core_report_usage', usage), false);
    assert.deepEqual(client.stats(), { queued: 3, sent: 0, failed: 0, dropped: 2 });
    assert.equal(errors.length, 2);
    assert.match(String(errors[0]), /queue is full \(3 calls\)/);
    gate.open();
    assert.equal(await client.close(), true);
    assert.equal(client.send('core_report_usage', usage), false, 'a closed client takes no calls');
    assert.deepEqual(client.stats(), { queued: 0, sent: 3, failed: 0, dropped: 3 });
    const run = await client.awaited.getRun(runId);
    assert.equal(run.totals.input_tokens, 10);
    assert.equal(run.totals.llm_calls, 2);
  });

  it('a bridge that is down costs the caller nothing: retries run in the background, failures are counted', async () => {
    const port = await freePort(); // nothing listens here
    const errors: unknown[] = [];
    const client = createBackgroundClient({
      url: `http://127.0.0.1:${port}`,
      maxRetries: 2,
      retryBaseMs: 10,
      onError: (e) => errors.push(e),
    });
    const runId = client.startRun({ project_key: PROJECT, agent_id: AGENT_ID });
    client.send('core_end_run', { run_id: runId, status: 'completed' });
    assert.deepEqual(client.stats(), { queued: 2, sent: 0, failed: 0, dropped: 0 }, 'both calls returned before any was sent');
    assert.equal(await client.flush(), true);
    assert.deepEqual(client.stats(), { queued: 0, sent: 0, failed: 2, dropped: 0 });
    assert.equal(errors.length, 2);
    assert.ok(errors[0] instanceof OprelayError);
    assert.equal((errors[0] as OprelayError).code, 'connection_failed');
  });

  it('a call the bridge refuses is counted as failed with the bridge error, and the queue goes on', async () => {
    const errors: OprelayError[] = [];
    const client = createBackgroundClient({ url: bridge.url, onError: (e) => errors.push(e as OprelayError) });
    client.send('core_report_usage', { run_id: 'not-a-uuid', token_usage: {} });
    const runId = client.startRun({ project_key: PROJECT, agent_id: AGENT_ID });
    await client.flush();
    assert.deepEqual(client.stats(), { queued: 0, sent: 1, failed: 1, dropped: 0 });
    assert.equal(errors[0].code, 'invalid_argument');
    assert.equal(errors[0].details?.[0]?.path, 'run_id');
    assert.equal((await client.awaited.getRun(runId)).status, 'running');
  });

  it('flush gives up after its timeout and says the queue is not empty', async () => {
    const hang: Server = createServer(() => {
      /* never answers */
    });
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    const client = createBackgroundClient({ url: `http://127.0.0.1:${(hang.address() as AddressInfo).port}`, timeoutMs: 60_000 });
    client.startRun({ project_key: PROJECT, agent_id: AGENT_ID });
    assert.equal(await client.flush(50), false);
    assert.equal(client.stats().queued, 1);
    hang.closeAllConnections();
    await new Promise<void>((r) => hang.close(() => r()));
    assert.equal(await client.flush(), true);
    assert.equal(client.stats().failed, 1);
  });
});
