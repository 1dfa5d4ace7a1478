import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { cpSync, mkdirSync, statSync, symlinkSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AGENT_ID, BridgeProcess, CLI, ROOT, freePort, tempDir } from './support/bridge-process.js';
import { OtlpReceiver } from './support/otlp-receiver.js';

/** Starting and stopping as a newcomer and an orchestrator do it: npm start, SIGTERM, one owner per data dir. */

const SHUTDOWN_TIMEOUT_S = 3;
/** Exit within the setting plus this: process start-up of the worker and exit on a loaded 2-core machine. */
const MARGIN_MS = 2_500;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Polls cond every 50 ms until it holds or timeoutMs passes; returns whether it held. */
async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

/**
 * `npm start` on port, in its own process group (so the test can see, and clean up, every process
 * npm starts), collecting its output in logs.
 */
function startNpm(port: number, logs: string[]): { npm: ChildProcess; exited: Promise<number | null> } {
  const npm = spawn('npm', ['start'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? tempDir(),
      BRIDGE_PORT: String(port),
      BRIDGE_DATA_DIR: tempDir(),
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
      BRIDGE_SHUTDOWN_TIMEOUT: `${SHUTDOWN_TIMEOUT_S}s`,
    },
  });
  npm.stdout!.on('data', (d: Buffer) => logs.push(d.toString()));
  npm.stderr!.on('data', (d: Buffer) => logs.push(d.toString()));
  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
  return { npm, exited };
}

const answers = (url: string) =>
  fetch(`${url}/healthz`).then(
    (r) => r.ok,
    () => false,
  );

describe('npm start', () => {
  let npm: ChildProcess | undefined;
  after(() => {
    if (npm?.pid && alive(-npm.pid)) process.kill(-npm.pid, 'SIGKILL');
  });

  it('serves without compiling again, and a SIGTERM to npm stops the bridge and every process under it', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const builtAt = statSync(CLI).mtimeMs;
    const logs: string[] = [];
    const started = startNpm(port, logs);
    npm = started.npm;
    const exited = started.exited;
    assert.ok(await waitUntil(() => answers(url), 30_000), `npm start serves /healthz:\n${logs.join('')}`);
    assert.equal(statSync(CLI).mtimeMs, builtAt, 'dist/ is current, so npm start did not compile it again');
    assert.doesNotMatch(logs.join(''), /> tsc /);
    const r = await fetch(`${url}/v1/tools/core_start_run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ project_key: 'p', agent_id: AGENT_ID }),
    });
    assert.equal(r.status, 200);

    const t0 = performance.now();
    process.kill(npm.pid!, 'SIGTERM');
    assert.ok(await waitUntil(async () => !(await answers(url)), SHUTDOWN_TIMEOUT_S * 1000 + MARGIN_MS), 'the bridge stops serving');
    const code = await exited;
    assert.ok(await waitUntil(() => !alive(-npm!.pid!), 2_000), 'no process of npm start is left');
    const took = performance.now() - t0;
    console.log(`npm start: SIGTERM to npm → every process gone in ${Math.round(took)} ms (exit ${code})`);
    assert.ok(took < SHUTDOWN_TIMEOUT_S * 1000 + MARGIN_MS, `took ${Math.round(took)} ms`);
    assert.match(logs.join(''), /"msg":"bridge stopped"/, 'the bridge shut down gracefully');
  });
});

describe('npm start under Ctrl-C (SIGINT to the whole process group)', () => {
  let npm: ChildProcess | undefined;
  after(() => {
    if (npm?.pid && alive(-npm.pid)) process.kill(-npm.pid, 'SIGKILL');
  });

  it('npm ends when the bridge ends, with its code: 0 after a clean drain', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const logs: string[] = [];
    const started = startNpm(port, logs);
    npm = started.npm;
    const exited = started.exited;
    assert.ok(await waitUntil(() => answers(url), 30_000), `npm start serves /healthz:\n${logs.join('')}`);
    // a span waiting in the outbox, so the drain has something to do
    const r = await fetch(`${url}/v1/tools/record_run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ project_key: 'p', agent: 'a', summary: 'ctrl-c' }),
    });
    assert.equal(r.status, 200);
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // a retry or two: the bridge is idle, as a user's is

    process.kill(-npm.pid!, 'SIGINT'); // what the terminal does on Ctrl-C
    // npm forwards the signal to the bridge once more; whether the kernel merges it with the
    // terminal's depends on timing, so the test makes sure the forwarded one arrives on its own
    const bridgePid = spawnSync('ps', ['-o', 'pid=,args=', '-g', String(npm.pid)], { encoding: 'utf8' })
      .stdout.split('\n')
      .find((l) => l.includes('dist/cli.js serve'))
      ?.trim()
      .split(/\s+/)[0];
    assert.ok(bridgePid, "the bridge runs in npm's process group");
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (alive(Number(bridgePid))) process.kill(Number(bridgePid), 'SIGINT');
    const code = await exited;
    const all = logs.join('');
    assert.match(all, /"msg":"bridge stopped"/, `the bridge drained before npm ended:\n${all}`);
    assert.doesNotMatch(all, /"msg":"shutdown overran/);
    assert.equal(code, 0, `npm exits with the bridge's code:\n${all}`);
    assert.ok(await waitUntil(() => !alive(-npm!.pid!), 2_000), 'no process of npm start is left');
  });
});

describe('the build before npm start', () => {
  it('compiles only when dist/ is missing or older than a source, and does nothing without sources', () => {
    const copy = tempDir('oprelay-build-');
    for (const f of ['src', 'scripts', 'tsconfig.json', 'tsconfig.build.json', 'package.json'])
      cpSync(join(ROOT, f), join(copy, f), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
    const build = () => spawnSync(process.execPath, ['scripts/build-if-stale.mjs'], { cwd: copy, encoding: 'utf8' });
    const cli = join(copy, 'dist', 'cli.js');

    const first = build();
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stderr, /building dist\/ \(it is missing or older than its sources\)/);
    const builtAt = statSync(cli).mtimeMs;
    const fresh = build();
    assert.equal(fresh.status, 0);
    assert.equal(fresh.stderr, '', 'nothing to do when dist/ is current');
    assert.equal(statSync(cli).mtimeMs, builtAt);

    // a source edited after the build
    const later = new Date(builtAt + 5_000);
    utimesSync(join(copy, 'src', 'version.ts'), later, later);
    const stale = build();
    assert.equal(stale.status, 0, stale.stderr);
    assert.match(stale.stderr, /building dist\//);
    assert.ok(statSync(cli).mtimeMs > builtAt, 'rebuilt');

    // the Docker dependency layer: package.json only
    const bare = tempDir('oprelay-bare-');
    mkdirSync(join(bare, 'scripts'));
    cpSync(join(ROOT, 'scripts', 'build-if-stale.mjs'), join(bare, 'scripts', 'build-if-stale.mjs'));
    const none = spawnSync(process.execPath, ['scripts/build-if-stale.mjs'], { cwd: bare, encoding: 'utf8' });
    assert.equal(none.status, 0, none.stderr);
    assert.equal(none.stderr, '');
  });
});

describe('shutdown within BRIDGE_SHUTDOWN_TIMEOUT, every flush included', () => {
  const receiver = new OtlpReceiver();
  const bridges: BridgeProcess[] = [];
  after(async () => {
    await Promise.all(bridges.map((b) => b.dispose()));
    await receiver.stop();
  });

  /** A bridge with the default metrics exporters (OTLP push included) and the given collector. */
  async function bridge(endpoint: string): Promise<BridgeProcess> {
    const b = await BridgeProcess.start({
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_METRICS_EXPORTER: 'otlp,prometheus',
      BRIDGE_SHUTDOWN_TIMEOUT: `${SHUTDOWN_TIMEOUT_S}s`,
      BRIDGE_RETRY_MAX_BACKOFF: '50ms',
    });
    bridges.push(b);
    return b;
  }

  async function stopTimed(b: BridgeProcess): Promise<number> {
    const t0 = performance.now();
    const code = await b.stop();
    const took = performance.now() - t0;
    assert.equal(code, 0, b.logs.join('\n'));
    return took;
  }

  const outboxDepth = (b: BridgeProcess) => {
    const out = spawnSync(process.execPath, [CLI, 'outbox', 'status'], {
      env: { PATH: process.env.PATH ?? '', BRIDGE_DATA_DIR: b.dataDir },
      encoding: 'utf8',
    });
    return (JSON.parse(out.stdout.split('\n')[0]) as { outbox_depth: number }).outbox_depth;
  };

  const cases: [name: string, endpoint: () => Promise<string>, runs: number][] = [
    ['no collector listening, spans waiting', async () => `http://127.0.0.1:${await freePort()}`, 5],
    ['no collector listening, empty outbox', async () => `http://127.0.0.1:${await freePort()}`, 0],
    [
      'a collector that never answers, spans waiting',
      async () => {
        await receiver.start();
        receiver.answer({ kind: 'hang' });
        return receiver.url;
      },
      5,
    ],
  ];
  for (const [name, endpoint, runs] of cases) {
    it(`${name}: exits 0 within the setting, what is unsent stays in the outbox`, async () => {
      const b = await bridge(await endpoint());
      for (let i = 0; i < runs; i++) assert.equal((await b.tool('core_start_run', { project_key: 'p', agent_id: AGENT_ID })).status, 200);
      const took = await stopTimed(b);
      console.log(`shutdown (${name}): ${Math.round(took)} ms against BRIDGE_SHUTDOWN_TIMEOUT=${SHUTDOWN_TIMEOUT_S}s`);
      assert.ok(took < SHUTDOWN_TIMEOUT_S * 1000 + MARGIN_MS, `shutdown took ${Math.round(took)} ms`);
      assert.equal(outboxDepth(b), runs, 'every start_run span is still in the outbox');
    });
  }
});

describe('one bridge per SQLite data dir', () => {
  const bridges: BridgeProcess[] = [];
  after(() => Promise.all(bridges.map((b) => b.dispose())));

  it('a second bridge on the same data dir refuses to start, naming the holder; a crashed holder does not block', async () => {
    const dir = tempDir();
    const first = await BridgeProcess.start({}, dir);
    bridges.push(first);
    const second = new BridgeProcess({}, dir);
    bridges.push(second);
    await assert.rejects(second.spawn(), /exited with 1/);
    const refusal = second.logs.join('\n');
    assert.match(refusal, new RegExp(`data directory .* is in use by another bridge \\(pid ${first.child.pid} on ${hostname()}, since `));
    assert.ok(await answers(first.url), 'the first keeps serving');

    await first.kill(); // a crash: no clean shutdown, the lock's owner is gone
    const third = await BridgeProcess.start({}, dir);
    bridges.push(third);
    assert.ok(await answers(third.url), 'a crashed holder leaves no lock behind');
    assert.equal(await third.stop(), 0);
  });
});
