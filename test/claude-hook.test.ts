import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createClient } from '@oprelay/client';
import { BridgeProcess, freePort, ROOT, tempDir } from './support/bridge-process.js';
import { OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.js';

/**
 * `oprelay hook` driven the way Claude Code drives it: one process per event, the event's JSON on
 * stdin. Payloads and transcript lines follow Claude Code's hooks reference (2.1.78+, which added
 * StopFailure) and its session transcript JSONL.
 */
const HOOK = join(ROOT, 'packages/client/dist/cli.js');
const FIXTURES = join(ROOT, 'test/fixtures/claude-code');
const SESSION = '5f0c3e1a-9b7d-4c2e-8a61-3d4f5e6a7b8c';
const PROJECT = 'hook-test';

interface Workspace {
  home: string;
  cwd: string;
  transcript: string;
}

function workspace(): Workspace {
  const dir = tempDir('oprelay-hook-');
  const cwd = join(dir, 'repo');
  mkdirSync(join(cwd, '.git'), { recursive: true });
  writeFileSync(join(cwd, '.git', 'HEAD'), 'ref: refs/heads/feature/hooks\n');
  return { home: join(dir, 'home'), cwd, transcript: join(dir, 'transcript.jsonl') };
}

function payload(name: string, ws: Workspace, transcript = ws.transcript): string {
  return readFileSync(join(FIXTURES, `${name}.json`), 'utf8')
    .replace('TRANSCRIPT', transcript)
    .replace('CWD', ws.cwd);
}

/** Runs one hook call; resolves with its exit code and stderr. */
function hook(input: string | null, env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [HOOK, 'hook'], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.once('exit', (code) => resolve({ code, stderr }));
    if (input !== null) child.stdin.end(input); // null: a runner that never closes stdin
  });
}

const spoolLines = (ws: Workspace) => {
  const path = join(ws.home, 'spool.jsonl');
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
};

const traceIdOf = (runId: string) => runId.replace(/-/g, '');

describe('oprelay hook (Claude Code)', () => {
  let receiver: OtlpReceiver;
  let bridge: BridgeProcess;
  const dirs: string[] = [];

  before(async () => {
    receiver = await new OtlpReceiver().start();
    bridge = await BridgeProcess.start({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
  });
  after(async () => {
    await bridge.dispose();
    await receiver.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const envFor = (ws: Workspace, url = bridge.url) => ({ OPRELAY_URL: url, OPRELAY_HOME: ws.home, OPRELAY_PROJECT: PROJECT });

  it('a session becomes a run: tools, per-turn usage counted once per message, a failed turn, final totals', async () => {
    const ws = workspace();
    dirs.push(join(ws.home, '..'));
    const env = envFor(ws);
    const client = createClient({ url: bridge.url });
    const run = () => client.getRun(SESSION);

    assert.equal((await hook(payload('session-start', ws), env)).code, 0);
    assert.equal((await run()).status, 'running');
    assert.equal((await run()).session_id, SESSION);

    assert.equal((await hook(payload('post-tool-use', ws), env)).code, 0);
    assert.equal((await hook(payload('post-tool-use-failure', ws), env)).code, 0);

    writeFileSync(ws.transcript, readFileSync(join(FIXTURES, 'transcript-turn1.jsonl')));
    assert.equal((await hook(payload('stop', ws), env)).code, 0);
    // message A is written twice (one line per content block): counted once, with its final output
    const turn1 = (await run()).totals;
    assert.equal(turn1.input_tokens, 3003 + 3205, 'cache reads and writes counted inside input_tokens');
    assert.equal(turn1.output_tokens, 150 + 80);
    assert.equal(turn1.llm_calls, 2);

    assert.equal((await hook(payload('stop', ws), env)).code, 0, 'a Stop with nothing new');
    assert.equal((await run()).totals.llm_calls, 2);

    appendFileSync(ws.transcript, readFileSync(join(FIXTURES, 'transcript-turn2.jsonl')));
    assert.equal((await hook(payload('stop-failure', ws), env)).code, 0);
    const afterFailure = await run();
    assert.equal(afterFailure.totals.llm_calls, 3, 'the synthetic error message is not a model call');
    assert.equal(afterFailure.failures, 1);
    assert.deepEqual([...afterFailure.models].sort(), ['claude-haiku-4-5-20251001', 'claude-sonnet-4-5-20250929']);

    assert.equal((await hook(payload('session-end', ws), env)).code, 0);
    const ended = await run();
    assert.equal(ended.status, 'completed');
    assert.equal(ended.totals.input_tokens, 6608);
    assert.equal(ended.totals.output_tokens, 290);
    assert.equal(ended.totals.total_tokens, 6898);
    assert.equal(ended.totals.llm_calls, 3);
    assert.ok(ended.totals.cost_usd > 0, 'priced from the Claude models and tokens');
    assert.equal(ended.end_reason, 'agent');
    assert.deepEqual(spoolLines(ws), []);

    const tid = traceIdOf(SESSION);
    const spans = await receiver.waitFor(
      (all) =>
        all.filter((s) => s.traceId === tid && /^(execute_tool|chat) /.test(s.name)).length >= 5 &&
        all.some((s) => s.traceId === tid && s.name === 'invoke_agent claude-code'),
      10_000,
      'hook spans',
    );
    const mine = spans.filter((s) => s.traceId === tid);
    const bash = mine.find((s) => s.name === 'execute_tool Bash') as ReceivedSpan;
    const edit = mine.find((s) => s.name === 'execute_tool Edit') as ReceivedSpan;
    assert.notEqual(bash.status.code, 2);
    assert.equal(bash.attributes['oprelay.trace.tool_use_id'], 'toolu_01Hk7bQ2vZ');
    assert.equal(edit.status.code, 2);
    assert.match(String(edit.status.message), /String to replace not found/);
    const chats = mine
      .filter((s) => s.name.startsWith('chat ') && s.attributes['oprelay.usage.uncovered_by'] === undefined)
      .map((s) => `${s.name} ${s.attributes['gen_ai.usage.input_tokens']}/${s.attributes['gen_ai.usage.output_tokens']}`);
    assert.deepEqual(chats.sort(), [
      'chat claude-haiku-4-5-20251001 400/60',
      'chat claude-sonnet-4-5-20250929 3003/150',
      'chat claude-sonnet-4-5-20250929 3205/80',
    ]);
    const root = mine.find((s) => s.name === 'invoke_agent claude-code') as ReceivedSpan;
    // the turns' entries carry every token; what pricing the turns as a whole adds to the entries'
    // own prices is on the bridge's uncovered-usage spans, so the LLM spans' cost is the run's
    const llm = mine.filter((s) => s.attributes['openinference.span.kind'] === 'LLM');
    const sum = (key: string) => llm.reduce((n, s) => n + Number(s.attributes[key] ?? 0), 0);
    assert.deepEqual([sum('gen_ai.usage.input_tokens'), sum('gen_ai.usage.output_tokens')], [6608, 290]);
    assert.ok(
      Math.abs(sum('llm.cost.total') - ended.totals.cost_usd) < 1e-9,
      `LLM spans cost ${sum('llm.cost.total')} = ${ended.totals.cost_usd}`,
    );
    assert.equal(root.attributes['oprelay.meta.git_branch'], 'feature/hooks');
    assert.equal(root.attributes['oprelay.meta.cwd'], ws.cwd);
    assert.equal(root.attributes['gen_ai.agent.name'], 'claude-code');
    assert.equal(root.attributes['oprelay.project_key'], PROJECT);

    // resumed after it ended: a new run for the same session; the earlier messages, repeated in the
    // resumed transcript, are not counted again
    const resumed = join(ws.home, '..', 'resumed.jsonl');
    writeFileSync(resumed, '');
    assert.equal((await hook(payload('session-start-resume', ws, resumed), env)).code, 0);
    writeFileSync(resumed, readFileSync(join(FIXTURES, 'transcript-resumed.jsonl')));
    assert.equal((await hook(payload('stop', ws, resumed), env)).code, 0);
    const interrupted = payload('session-end', ws, resumed).replace('prompt_input_exit', 'bypass_permissions_disabled');
    assert.equal((await hook(interrupted, env)).code, 0);

    const state = JSON.parse(readFileSync(join(ws.home, 'sessions', readdirOne(join(ws.home, 'sessions'))), 'utf8')) as {
      run_id: string;
      generation: number;
    };
    assert.equal(state.generation, 1);
    assert.notEqual(state.run_id, SESSION);
    const second = await client.getRun(state.run_id);
    assert.equal(second.status, 'interrupted');
    assert.equal(second.session_id, SESSION);
    assert.equal(second.totals.input_tokens, 6010);
    assert.equal(second.totals.output_tokens, 40);
    assert.equal(second.totals.llm_calls, 1);
    const first = await run();
    assert.equal(first.totals.input_tokens, 6608, 'the first run is untouched');
    assert.equal(first.totals.llm_calls, 3);
  });

  it('with the bridge down every hook exits 0 and spools; the next call once it is up sends the spool first, in order', async () => {
    const ws = workspace();
    dirs.push(join(ws.home, '..'));
    const port = await freePort();
    const env = envFor(ws, `http://127.0.0.1:${port}`);
    for (const name of ['session-start', 'post-tool-use', 'post-tool-use-failure']) {
      const r = await hook(payload(name, ws), env);
      assert.equal(r.code, 0, `${name} exits 0 with the bridge down`);
    }
    writeFileSync(ws.transcript, readFileSync(join(FIXTURES, 'transcript-turn1.jsonl')));
    assert.equal((await hook(payload('stop', ws), env)).code, 0);
    const spooled = spoolLines(ws).map((l) => (JSON.parse(l) as { tool: string }).tool);
    assert.deepEqual(spooled, ['core_start_run', 'core_report_usage', 'core_report_usage', 'core_report_usage']);

    const late = await BridgeProcess.start({ BRIDGE_PORT: String(port), OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    try {
      assert.equal((await hook(payload('session-end', ws), env)).code, 0);
      assert.deepEqual(spoolLines(ws), []);
      const run = await createClient({ url: late.url }).getRun(SESSION);
      assert.equal(run.status, 'completed');
      assert.equal(run.totals.input_tokens, 6208);
      assert.equal(run.totals.output_tokens, 230);
      assert.equal(run.totals.llm_calls, 2);
    } finally {
      await late.dispose();
    }
  });

  it('a key the bridge refuses keeps the calls in the spool until the key is right', async () => {
    const ws = workspace();
    dirs.push(join(ws.home, '..'));
    const keyed = await BridgeProcess.start({ BRIDGE_API_KEYS: `hook-key-123456=${PROJECT}` });
    try {
      const wrong = await hook(payload('session-start', ws), { ...envFor(ws, keyed.url), OPRELAY_API_KEY: 'wrong-key-000000' });
      assert.equal(wrong.code, 0);
      assert.match(wrong.stderr, /refused the key \(unauthorized\)/);
      assert.deepEqual(
        spoolLines(ws).map((l) => (JSON.parse(l) as { tool: string }).tool),
        ['core_start_run'],
      );
      const right = await hook(payload('post-tool-use', ws), { ...envFor(ws, keyed.url), OPRELAY_API_KEY: 'hook-key-123456' });
      assert.equal(right.code, 0);
      assert.deepEqual(spoolLines(ws), []);
      const run = await createClient({ url: keyed.url, apiKey: 'hook-key-123456' }).getRun(SESSION);
      assert.equal(run.status, 'running');
      assert.equal(run.project_key, PROJECT);
    } finally {
      await keyed.dispose();
    }
  });

  it('bad input and a stdin that never closes still exit 0 without sending anything', async () => {
    const ws = workspace();
    dirs.push(join(ws.home, '..'));
    const env = envFor(ws);
    const notJson = await hook('{"hook_event_name": "Stop", ', env);
    assert.equal(notJson.code, 0);
    assert.match(notJson.stderr, /stdin is not JSON/);
    const noSession = await hook('{"hook_event_name":"Stop"}', env);
    assert.equal(noSession.code, 0);
    assert.match(noSession.stderr, /bad Stop payload: session_id/);
    const other = await hook('{"hook_event_name":"PreToolUse","session_id":"s"}', env);
    assert.equal(other.code, 0);
    assert.match(other.stderr, /event PreToolUse is not handled/);
    const open = await hook(null, env);
    assert.equal(open.code, 0);
    assert.deepEqual(spoolLines(ws), []);
    assert.equal(existsSync(join(ws.home, 'sessions')), false);
  });
});

function readdirOne(dir: string): string {
  const entries = readdirSyncSorted(dir);
  assert.equal(entries.length, 1, 'one state file per session');
  return entries[0];
}

function readdirSyncSorted(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
}
