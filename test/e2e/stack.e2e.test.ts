import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { after, test } from 'node:test';
import { AGENT_ID, ROOT, tempDir } from '../support/bridge-process.js';
import { PEERS_DIR, waitFor } from './support/peer-process.js';

// `npm run stack` as a new user runs it: one command, the Jaeger URL of the first run printed,
// Ctrl-C (SIGINT to the whole process group) stops every process it started.

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Every process below `pid` (the stack puts each child in its own process group). */
function descendants(pid: number): number[] {
  const rows = spawnSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number))
    .filter((r) => r.length === 2 && Number.isFinite(r[0]));
  const out: number[] = [];
  const walk = (parent: number) => {
    for (const [child, ppid] of rows)
      if (ppid === parent) {
        out.push(child);
        walk(child);
      }
  };
  walk(pid);
  return out;
}

let stack: ChildProcess | undefined;
let started: number[] = [];
after(() => {
  for (const pid of started) if (alive(pid)) process.kill(pid, 'SIGKILL');
  if (stack?.pid && alive(stack.pid)) process.kill(-stack.pid, 'SIGKILL');
});

test(
  'npm run stack: Jaeger next to the bridge, the first run printed as a Jaeger URL that answers, Ctrl-C stops everything',
  { timeout: 180_000 },
  async () => {
    const output: string[] = [];
    stack = spawn('npm', ['run', 'stack', '--', '--ports', 'free'], {
      cwd: ROOT,
      detached: true, // its own process group, as a terminal gives it
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tempDir(), OPRELAY_PEERS_DIR: PEERS_DIR, BRIDGE_DATA_DIR: tempDir() },
    });
    stack.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
    stack.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
    const exited = new Promise<number | null>((resolve) => stack!.once('exit', (code) => resolve(code)));
    const text = () => output.join('');

    await waitFor(
      'the stack to wait for a first run',
      async () => /waiting for the first run/.test(text()) || (stack!.exitCode !== null ? Promise.reject(new Error(text())) : false),
      120_000,
    );
    const bridgeUrl = /stack: bridge +(http:\/\/127\.0\.0\.1:\d+)/.exec(text())![1];
    const jaegerUrl = /stack: Jaeger UI +(http:\/\/127\.0\.0\.1:\d+)/.exec(text())![1];
    started = descendants(stack.pid!);
    assert.ok(started.length >= 3, `npm, the script, Jaeger and the bridge run: ${started.join(' ')}`);

    const call = (tool: string, body: object) =>
      fetch(`${bridgeUrl}/v1/tools/${tool}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then((r) => r.json() as Promise<{ result: { run_id: string; trace_id: string; trace_url?: string } }>);
    const { result } = await call('core_start_run', { project_key: 'first-hour', agent_id: AGENT_ID, summary: 'a first run' });
    assert.equal(result.trace_url, `${jaegerUrl}/trace/${result.trace_id}`, 'answers carry the Jaeger URL');
    await call('core_end_run', { run_id: result.run_id, status: 'completed' });

    const printed = await waitFor(
      "the first run's Jaeger URL",
      async () => /first run \S+ \(first-hour\) in Jaeger: (\S+)/.exec(text())?.[1],
      60_000,
    );
    assert.equal(printed, `${jaegerUrl}/trace/${result.trace_id}`);
    const trace = await fetch(`${jaegerUrl}/api/traces/${result.trace_id}`);
    assert.equal(trace.status, 200, 'Jaeger has the trace the printed URL shows');
    assert.equal((await fetch(printed)).status, 200, 'the printed URL answers');

    process.kill(-stack.pid!, 'SIGINT'); // Ctrl-C
    const code = await exited;
    assert.equal(code, 0, text());
    assert.match(text(), /"msg":"bridge stopped"/, 'the bridge drained');
    assert.match(text(), /stack: stopped \(exit 0\)/);
    await waitFor('every process the stack started to end', async () => started.every((pid) => !alive(pid)), 5_000);
  },
);
