import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { BridgeProcess, ROOT, tempDir } from './support/bridge-process.js';

// The README's curl examples are pasted by newcomers in the order shown against a fresh
// `npm start`, so this test runs exactly those shell blocks, in that order, with bash against a
// real bridge process (no keys, loopback), and checks every answer against the `# →` line the
// README prints under it. docs/tools.md's examples get the same treatment.

const execFileAsync = promisify(execFile);

interface Example {
  /** The shell text as written in the document. */
  script: string;
  /** The tool name, or `runs` for GET /v1/runs/{id}. */
  endpoint: string;
  /** The JSON printed on the example's `# →` line: a subset of the answer. */
  expected?: unknown;
  /** Settings of a `# first restart the bridge with: … npm start` line: the bridge must run with them. */
  startEnv?: Record<string, string>;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The ```sh blocks of a markdown file that call the bridge, in document order. */
function examplesOf(markdown: string): Example[] {
  const examples: Example[] = [];
  for (const match of markdown.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const block = match[1]!;
    if (!block.includes('localhost:8787')) continue;
    // One example per curl command: a block may hold several, each followed by its own `# →`.
    const parts = block.split(/\n(?=curl )/);
    const startLine = /^# first restart the bridge with: ((?:[A-Z_]+=\S+ )+)npm start$/m.exec(block);
    const startEnv = startLine
      ? Object.fromEntries(
          startLine[1]!
            .trim()
            .split(' ')
            .map((pair) => pair.split('=') as [string, string]),
        )
      : undefined;
    for (const part of parts) {
      const curl = part.slice(part.indexOf('curl '));
      if (!curl.startsWith('curl ')) continue;
      const url = /localhost:8787\/v1\/(tools\/([a-z_]+)|runs\/)/.exec(curl);
      assert.ok(url, `an example calls an unknown endpoint:\n${curl}`);
      const arrow = /^# → (\{.*\})$/m.exec(curl);
      examples.push({
        script: curl.replace(/^# .*$/gm, '').trim(),
        endpoint: url[2] ?? 'runs',
        expected: arrow ? (JSON.parse(arrow[1]!) as unknown) : undefined,
        startEnv,
      });
    }
  }
  return examples;
}

/** Asserts every field of `expected` is in `actual` with the same value; arrays must match whole. */
function assertContains(actual: unknown, expected: unknown, path: string): void {
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    assert.ok(actual !== null && typeof actual === 'object', `${path} should be an object, got ${JSON.stringify(actual)}`);
    for (const [key, value] of Object.entries(expected)) {
      assertContains((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
    }
    return;
  }
  assert.deepEqual(actual, expected, `${path} differs from the document`);
}

/**
 * Fields whose values the bridge makes up per call (new ids, times): the document shows one such
 * answer; a fresh run must have the field, in the same format.
 */
const VARIES: Record<string, RegExp> = {
  'core_record_failure.result.failure_id': UUID,
  'runs.started_at': /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
  'runs.ended_at': /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
  'record_run.result.run_id': UUID,
  'record_run.result.trace_id': /^[0-9a-f]{32}$/,
};

/** Asserts the `# →` line is the whole answer: the same fields at every level, the same values but for VARIES. */
function assertWholeAnswer(actual: unknown, expected: unknown, path: string): void {
  if (path in VARIES) {
    assert.match(String(actual), VARIES[path]!, `${path}: ${JSON.stringify(actual)}`);
    return;
  }
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    assert.ok(actual !== null && typeof actual === 'object', `${path} should be an object, got ${JSON.stringify(actual)}`);
    assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), `${path}: the document shows every field of the answer`);
    for (const [key, value] of Object.entries(expected))
      assertWholeAnswer((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
    return;
  }
  assert.deepEqual(actual, expected, `${path} differs from the document`);
}

/** Runs one example with bash, pointed at the bridge, and returns its HTTP status and JSON body. */
async function run(example: Example, bridge: BridgeProcess): Promise<Answer> {
  const script = example.script
    .replaceAll('localhost:8787', bridge.url.replace('http://', ''))
    .replace(/^curl -s /, `curl -s -w '\\n%{http_code}' `);
  const { stdout } = await execFileAsync('bash', ['-c', script], { timeout: 15_000 });
  const lines = stdout.trimEnd().split('\n');
  const status = Number(lines.pop());
  return { status, body: JSON.parse(lines.join('\n')) as Record<string, unknown> };
}

function read(file: string): string {
  return readFileSync(join(ROOT, file), 'utf8');
}

describe('README examples, in the order shown, against a fresh bridge', () => {
  const examples = examplesOf(read('README.md'));
  let bridge: BridgeProcess;
  const answers: Answer[] = [];

  before(async () => {
    bridge = await BridgeProcess.start();
  });
  after(async () => {
    await bridge?.stop();
  });

  test('the README shows one example per tool and the run read, in a working order', () => {
    assert.deepEqual(
      examples.map((example) => example.endpoint),
      ['core_start_run', 'core_report_usage', 'core_record_failure', 'core_end_run', 'runs', 'record_run'],
    );
    // Every run-scoped example uses the quick start's run, which is started once.
    const runId = /"run_id": "([0-9a-f-]{36})"/.exec(examples[0]!.script)![1];
    for (const example of examples.slice(1, 5)) assert.ok(example.script.includes(runId!), `${example.endpoint} uses another run`);
  });

  test('every example answers 200 with the result the README states', async () => {
    for (const example of examples) {
      const answer = await run(example, bridge);
      assert.equal(answer.status, 200, `${example.endpoint}: ${JSON.stringify(answer.body)}`);
      assert.ok(example.expected !== undefined, `${example.endpoint}: the README shows its answer on a # → line`);
      assertWholeAnswer(answer.body, example.expected, example.endpoint);
      answers.push(answer);
    }
    assert.equal(answers.length, 6);
  });

  test('the TypeScript snippets import the package a user installs (the client workspace)', () => {
    const client = JSON.parse(read('packages/client/package.json')) as {
      name: string;
      private?: boolean;
      exports: Record<string, unknown>;
    };
    assert.notEqual(client.private, true);
    const specifiers = [...read('README.md').matchAll(/```ts\n([\s\S]*?)```/g)].flatMap((m) =>
      [...m[1]!.matchAll(/from '([^']+)'/g)].map((i) => i[1]!),
    );
    assert.ok(specifiers.length > 0);
    for (const specifier of specifiers) {
      const subpath =
        specifier === client.name ? '.' : specifier.startsWith(`${client.name}/`) ? `.${specifier.slice(client.name.length)}` : undefined;
      assert.ok(
        subpath !== undefined && subpath in client.exports,
        `${specifier}: not a module of ${client.name}, the package a user installs`,
      );
    }
  });

  test('the answers have the shape each tool promises', () => {
    const [start, report, failure, end, read, record] = answers.map((answer) => answer.body);
    const started = start!.result as { run_id: string; trace_id: string; traceparent: string };
    assert.equal(started.trace_id, started.run_id.replaceAll('-', ''));
    assert.match(started.traceparent, new RegExp(`^00-${started.trace_id}-[0-9a-f]{16}-01$`));
    assert.deepEqual(report!.result, {
      run_id: started.run_id,
      totals: { input_tokens: 8400, output_tokens: 1200, total_tokens: 9600, cost_usd: 0.028, llm_calls: 3 },
    });
    assert.match((failure!.result as { failure_id: string }).failure_id, UUID);
    // The final totals win over the 8,400 reported: the README's "12,400 final → 12,400".
    assert.deepEqual((end!.result as { totals: unknown }).totals, {
      input_tokens: 12400,
      output_tokens: 3200,
      total_tokens: 15600,
      cost_usd: 0.042,
      llm_calls: 7,
    });
    assert.equal(read!.agent_id, '6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b');
    assert.deepEqual(read!.models, ['claude-opus-4']);
    const recorded = record!.result as { run_id: string; trace_id: string };
    assert.match(recorded.run_id, UUID);
    assert.equal(recorded.trace_id, recorded.run_id.replaceAll('-', ''));
  });
});

describe('docs/tools.md examples, in the order shown', () => {
  const examples = examplesOf(read('docs/tools.md'));
  const dataDir = tempDir();
  let bridge: BridgeProcess | undefined;

  after(async () => {
    await bridge?.stop();
  });

  test('every example answers 200 with the result the page states', async () => {
    assert.deepEqual(
      examples.map((example) => example.endpoint),
      ['core_start_run', 'core_start_run', 'runs', 'core_report_usage', 'core_start_run', 'core_report_usage'],
    );
    assert.deepEqual(examples.at(-1)!.startEnv, { BRIDGE_TRACE_ENTRIES: 'errors', BRIDGE_COST_INFERENCE: 'on' });
    let env: Record<string, string> | undefined;
    for (const example of examples) {
      // A block that starts the bridge with settings needs a bridge with them, on the same data.
      if (bridge === undefined || example.startEnv !== env) {
        await bridge?.stop();
        env = example.startEnv;
        bridge = await BridgeProcess.start(env ?? {}, dataDir);
      }
      const answer = await run(example, bridge);
      assert.equal(answer.status, 200, `${example.endpoint}: ${JSON.stringify(answer.body)}`);
      if (example.expected !== undefined) assertContains(answer.body, example.expected, example.endpoint);
    }
  });
});
