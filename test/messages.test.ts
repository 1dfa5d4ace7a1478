import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';
import { AGENT_ID, BridgeProcess, CLI, tempDir } from './support/bridge-process.js';

/** Messages a newcomer reads: each names the field and says what is expected, in one line. */

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', BRIDGE_DATA_DIR: tempDir(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('messages', () => {
  let b: BridgeProcess;
  before(async () => {
    b = await BridgeProcess.start({ BRIDGE_LOG_LEVEL: 'warn' });
  });
  after(() => b?.dispose());

  it('a null (or other non-object) JSON body is not "malformed JSON": it says an object is expected', async () => {
    for (const raw of ['null', '"text"', '42', 'true']) {
      const r = await fetch(`${b.url}/v1/tools/core_start_run`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: raw,
      });
      const body = (await r.json()) as { error: { code: string; message: string; details: { path: string }[] } };
      assert.equal(r.status, 400, raw);
      assert.equal(body.error.code, 'invalid_argument');
      assert.doesNotMatch(body.error.message, /malformed/, raw);
      assert.match(body.error.message, /must be a JSON object with the tool arguments/, raw);
      assert.equal(body.error.details[0].path, 'body');
    }
  });

  it('wrong types get the bridge’s own words, never zod’s defaults', async () => {
    const runId = '7c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f';
    const cases: [tool: string, body: unknown, path: string, expected: RegExp][] = [
      ['core_report_usage', { run_id: runId, token_usage: {}, traces: { a: 1 } }, 'traces', /traces: must be an array of trace entries/],
      ['core_report_usage', { run_id: runId, token_usage: [] }, 'token_usage', /token_usage: must be an object/],
      ['core_report_usage', { run_id: runId, token_usage: {}, traces: ['x'] }, 'traces[0]', /traces\[0\]: must be an object/],
      ['core_start_run', { project_key: 7, agent_id: AGENT_ID }, 'project_key', /project_key: must be a string/],
      ['core_start_run', { project_key: 'p', agent_id: AGENT_ID, summary: ['a'] }, 'summary', /summary: must be a string/],
      ['core_end_run', { run_id: runId, status: 'completed', meta_json: 'x' }, 'meta_json', /meta_json: must be a JSON object/],
      ['core_report_usage', { run_id: runId, token_usage: { model: 3 } }, 'token_usage.model', /token_usage.model: must be a string/],
    ];
    for (const [tool, body, path, expected] of cases) {
      const r = await b.tool(tool, body);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.error.details[0].path, path);
      assert.match(r.body.error.message, expected);
      assert.doesNotMatch(r.body.error.message, /Invalid input|expected \w+, received/, r.body.error.message);
    }
  });

  it('BRIDGE_API_KEYS with the same key twice is refused, naming the variable, not the key', () => {
    assert.throws(
      () => loadConfig({ BRIDGE_API_KEYS: 'secret-key-1234=alpha;other-key-5678=beta;secret-key-1234=gamma' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /BRIDGE_API_KEYS: the same key appears twice \(entries 1 and 3\)/);
        assert.doesNotMatch(err.message, /secret-key-1234/);
        return true;
      },
    );
  });

  it('CLI errors print the one line that matters, not the whole usage text', async () => {
    const cases: [args: string[], line: RegExp][] = [
      [['keys', 'create'], /^keys create needs --project P \(or --project "\*"\)$/],
      [['bogus'], /^unknown command "bogus" \(oprelay-bridge --help lists the commands\)$/],
      [['keys', 'revoke'], /^keys revoke needs the key id \(see keys list\)$/],
      [['outbox', 'replay', '--id', 'x'], /^--id takes dead-letter ids \(numbers\)$/],
      [['keys', 'create', '--colour', 'red'], /^Unknown option '--colour'/],
    ];
    for (const [args, line] of cases) {
      const r = await cli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `${args.join(' ')} printed:\n${r.stderr}`);
      assert.match(lines[0], line);
    }
    const help = await cli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /keys create --project P/);
  });
});
