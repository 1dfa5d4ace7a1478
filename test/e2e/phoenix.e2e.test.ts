/**
 * Runs as an SRE sees them in Arize Phoenix: the bridge, on the settings docs/operations.md gives
 * for Phoenix, exports straight to a real Phoenix, and every assertion reads Phoenix's own REST and
 * GraphQL APIs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BridgeProcess } from '../support/bridge-process.js';
import { freePorts, type PeerProcess } from './support/peer-process.js';
import {
  documentedPhoenixSettings,
  numberAttribute,
  phoenixPeer,
  sumAttribute,
  type PhoenixApi,
  type PhoenixSpan,
} from './support/phoenix.js';
import { sendFlows, waitForIngestion, type SentFlows, type SentRun } from './support/phoenix-flows.js';

let dir: string;
let phoenix: PeerProcess;
let api: PhoenixApi;
let bridge: BridgeProcess;
let sent: SentFlows;
let spansByProject: Map<string, PhoenixSpan[]>;
let bridgeStarted: number;
const METRIC_INTERVAL_MS = 500;
/** The price Phoenix is given for the runs' model (USD per million tokens). */
const PRICE_PER_MILLION = { input: 15, output: 75 };

// Bounded: Phoenix's start (at most 180 s) and the ingestion wait (at most 90 s).
before(
  async () => {
    dir = mkdtempSync(join(tmpdir(), 'oprelay-e2e-phoenix-'));
    const [phoenixPort, bridgePort] = await freePorts(2);
    ({ process: phoenix, api } = phoenixPeer(phoenixPort!, join(dir, 'phoenix')));
    const started = Date.now();
    await phoenix.start(180_000);
    console.log(`# Phoenix answered /healthz ${Date.now() - started} ms after its start`);
    const priced = Date.now();
    await api.addModelPrice('claude-opus-4', PRICE_PER_MILLION.input, PRICE_PER_MILLION.output);
    bridge = await BridgeProcess.start(
      {
        // exactly what docs/operations.md tells Phoenix users to set, pointed at this Phoenix
        ...documentedPhoenixSettings(api.url),
        // a metrics push to Phoenix, if the settings allowed one, fails at every interval: make it short
        OTEL_METRIC_EXPORT_INTERVAL: String(METRIC_INTERVAL_MS),
        BRIDGE_EXPORT_INTERVAL_MS: '100',
        BRIDGE_RETRY_MAX_BACKOFF: '1s',
        // Phoenix's first writes on a loaded machine can take seconds: a short lease would only add retries
        BRIDGE_OUTBOX_LEASE: '30s',
        BRIDGE_PORT: String(bridgePort),
      },
      join(dir, 'bridge'),
    );
    bridgeStarted = Date.now();
    // Phoenix prices spans as they arrive, from a model store it refreshes every 5 s (plus the fetch)
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, priced + 8_000 - Date.now())));
    sent = await sendFlows(bridge);
    spansByProject = await waitForIngestion(api, sent).catch((error: unknown) => {
      throw new Error(`${String(error)}\n--- phoenix ---\n${phoenix.tail()}\n--- bridge ---\n${bridge.logs.slice(-30).join('\n')}`);
    });
    const seed = await api.traceUsage(sent.seed.traceId);
    console.log(`# Phoenix, seed run: ${JSON.stringify(seed)}`);
    const kinds = spansOf(sent.seed.traceId).map((s) => `${s.name}=${s.span_kind}`);
    console.log(`# Phoenix, seed run's span kinds: ${kinds.join(', ')}`);
    for (const project of spansByProject.keys())
      console.log(`# Phoenix, project ${project}: ${JSON.stringify(await api.projectUsage(project))}`);
  },
  { timeout: 360_000 },
);

after(async () => {
  await bridge?.dispose();
  await phoenix?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function spansOf(traceId: string): PhoenixSpan[] {
  return [...spansByProject.values()].flat().filter((span) => span.context.trace_id === traceId);
}

function named(spans: PhoenixSpan[], prefix: string): PhoenixSpan {
  const span = spans.find((s) => s.name.startsWith(prefix));
  assert.ok(span, `no span named ${prefix}… among ${JSON.stringify(spans.map((s) => s.name))}`);
  return span;
}

function llmSpans(spans: PhoenixSpan[]): PhoenixSpan[] {
  return spans.filter((span) => span.span_kind === 'LLM');
}

/** A span event's attribute, whether Phoenix returns the event's attributes flat or nested. */
function eventAttribute(event: { attributes: Record<string, unknown> }, key: string): unknown {
  if (key in event.attributes) return event.attributes[key];
  return key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], event.attributes);
}

const runsOf = (flows: SentFlows): Record<string, SentRun[]> => ({
  seed: [flows.seed],
  'same session': [flows.sameSession],
  failed: [flows.failed],
  'planner with its coder sub-agent': [flows.parent, flows.child],
});

test('one Phoenix project per project_key, named after it', async () => {
  const projects = await api.projectNames();
  assert.ok(projects.includes(sent.projectA) && projects.includes(sent.projectB), `projects: ${JSON.stringify(projects)}`);
  const traces = (project: string) => [...new Set((spansByProject.get(project) ?? []).map((s) => s.context.trace_id))].sort();
  assert.deepEqual(traces(sent.projectA), [sent.seed.traceId, sent.sameSession.traceId, sent.failed.traceId].sort());
  assert.deepEqual(traces(sent.projectB), [sent.parent.traceId, sent.recordTraceId].sort());
  assert.deepEqual(spansByProject.get('default') ?? [], [], 'nothing lands in Phoenix default project');
});

test('span kinds: AGENT roots, LLM calls, TOOL calls, the start marker neither AGENT nor LLM, record_run AGENT', () => {
  const seed = spansOf(sent.seed.traceId);
  const root = named(seed, 'invoke_agent deployer');
  assert.equal(root.parent_id, null, 'the run is the trace root');
  assert.equal(root.span_kind, 'AGENT');
  const chats = seed.filter((s) => s.name.startsWith('chat '));
  assert.ok(chats.length > 0 && chats.every((s) => s.span_kind === 'LLM'), JSON.stringify(chats.map((s) => s.span_kind)));
  assert.equal(named(seed, 'execute_tool kubectl').span_kind, 'TOOL');
  const marker = named(seed, 'start_run');
  assert.ok(!['AGENT', 'LLM'].includes(marker.span_kind), `start_run is ${marker.span_kind}`);
  assert.deepEqual(
    seed.filter((s) => s.span_kind === 'AGENT').map((s) => s.name),
    ['invoke_agent deployer'],
    'one AGENT per run',
  );
  const tree = spansOf(sent.parent.traceId);
  assert.equal(named(tree, 'invoke_agent planner').span_kind, 'AGENT');
  const coder = named(tree, 'invoke_agent coder');
  assert.equal(coder.span_kind, 'AGENT');
  assert.equal(coder.parent_id, named(tree, 'invoke_agent planner').context.span_id, 'the sub-agent nests under its parent');
  const recorded = spansOf(sent.recordTraceId);
  assert.equal(recorded.length, 1);
  assert.equal(named(recorded, 'record_run claude-opus').span_kind, 'AGENT');
});

test("the root fills Phoenix's input, output and metadata columns", () => {
  const root = named(spansOf(sent.seed.traceId), 'invoke_agent deployer');
  const attributes = JSON.stringify(root.attributes);
  assert.equal(root.attributes['input.value'], 'Deploying rate limiter to staging', attributes);
  assert.equal(root.attributes['output.value'], 'Rate limiter deployed and verified in staging', attributes);
  assert.equal(root.attributes['metadata.env'], 'staging', attributes);
  assert.equal(root.attributes['session.id'], sent.sessionId, attributes);
});

test("Phoenix's token counts equal the runs' totals: every token on exactly one LLM span", async () => {
  for (const [label, runs] of Object.entries(runsOf(sent))) {
    const spans = llmSpans(spansOf(runs[0]!.traceId));
    const input = runs.reduce((sum, run) => sum + run.totals.input_tokens, 0);
    const output = runs.reduce((sum, run) => sum + run.totals.output_tokens, 0);
    assert.equal(sumAttribute(spans, 'llm.token_count.prompt'), input, `${label}: prompt tokens over LLM spans`);
    assert.equal(sumAttribute(spans, 'llm.token_count.completion'), output, `${label}: completion tokens over LLM spans`);
  }
  assert.deepEqual([sent.seed.totals.input_tokens, sent.seed.totals.output_tokens], [12400, 3200]);
  const seed = await api.traceUsage(sent.seed.traceId);
  assert.equal(seed.rootSpan?.cumulativeTokenCountPrompt, 12400, 'the trace view shows the run total');
  assert.equal(seed.rootSpan?.cumulativeTokenCountCompletion, 3200);
  const projectA = await api.projectUsage(sent.projectA);
  const runsA = [sent.seed, sent.sameSession, sent.failed];
  assert.equal(
    projectA.tokenCountPrompt,
    runsA.reduce((sum, run) => sum + run.totals.input_tokens, 0),
  );
  assert.equal(
    projectA.tokenCountCompletion,
    runsA.reduce((sum, run) => sum + run.totals.output_tokens, 0),
  );
  const failedUsage = await api.traceUsage(sent.failed.traceId);
  assert.equal(failedUsage.rootSpan?.cumulativeTokenCountPrompt, 900, 'a failed run shows its tokens');
});

test("Phoenix's own cost column, given the model's price, prices every token of the run", async () => {
  const seed = await api.traceUsage(sent.seed.traceId);
  const expected = (12400 * PRICE_PER_MILLION.input + 3200 * PRICE_PER_MILLION.output) / 1_000_000;
  const cost = seed.costSummary.total.cost ?? NaN;
  assert.ok(Math.abs(cost - expected) < 1e-9, `Phoenix prices the seed run at ${cost}, expected ${expected}`);
});

test('llm.cost.total on the root and on the LLM spans, which sum to the run cost', () => {
  for (const [label, runs] of Object.entries(runsOf(sent))) {
    const spans = spansOf(runs[0]!.traceId);
    const cost = runs.reduce((sum, run) => sum + run.totals.cost_usd, 0);
    const llmCost = sumAttribute(llmSpans(spans), 'llm.cost.total');
    assert.ok(Math.abs(llmCost - cost) < 1e-9, `${label}: LLM spans' llm.cost.total ${llmCost} != ${cost}`);
    for (const run of runs) {
      const root = spans.find((s) => s.span_kind === 'AGENT' && s.context.span_id === run.rootSpanId);
      assert.ok(root && Math.abs((numberAttribute(root, 'llm.cost.total') ?? NaN) - run.totals.cost_usd) < 1e-9, `${label}: root cost`);
    }
  }
  assert.equal(sent.seed.totals.cost_usd, 0.042);
});

test('the failure is an exception event on the root; the failed run has status ERROR', () => {
  const root = named(spansOf(sent.seed.traceId), 'invoke_agent deployer');
  assert.equal(root.status_code, 'OK');
  const exception = root.events.find((e) => e.name === 'exception');
  assert.ok(exception, `events: ${JSON.stringify(root.events)}`);
  assert.equal(eventAttribute(exception, 'exception.message'), 'Database connection timeout during migration');
  assert.equal(eventAttribute(exception, 'exception.stacktrace'), 'Error: connect ETIMEDOUT 10.0.0.5:5432');

  const failed = named(spansOf(sent.failed.traceId), 'invoke_agent migrator');
  assert.equal(failed.status_code, 'ERROR');
  assert.equal(failed.status_message, 'gave up after the migration failed');
  assert.ok(failed.events.some((e) => e.name === 'exception' && eventAttribute(e, 'exception.type') === 'MigrationError'));
});

test('one Phoenix session per conversation, holding both of its runs', async () => {
  const sessions = await api.sessions(sent.projectA);
  const conversation = sessions.filter((s) => s.session_id === sent.sessionId);
  assert.equal(conversation.length, 1, `sessions: ${JSON.stringify(sessions.map((s) => s.session_id))}`);
  assert.deepEqual(conversation[0]!.traces.map((t) => t.trace_id).sort(), [sent.seed.traceId, sent.sameSession.traceId].sort());
  const elsewhere = sessions.filter((s) => s !== conversation[0] && s.traces.some((t) => t.trace_id === sent.seed.traceId));
  assert.deepEqual(elsewhere, [], 'the seed trace is in no other session');
});

test("docs/operations.md's Phoenix settings send nothing Phoenix refuses: no 405, no metrics push", async () => {
  // at least three metric intervals since the bridge started
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, bridgeStarted + 3 * METRIC_INTERVAL_MS - Date.now())));
  const problems = bridge.logs.filter((line) => /"level":"error"|metrics export|\b405\b|Method Not Allowed/i.test(line));
  assert.deepEqual(problems, []);
});
