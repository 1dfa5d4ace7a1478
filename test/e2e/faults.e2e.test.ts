/**
 * Nothing is lost when a peer fails: for each fault the spans the bridge's relay had accepted by
 * the collector are counted against the spans Jaeger ends up holding, and they must be equal.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { AGENT_ID } from '../support/bridge-process.js';
import { traceIdOf } from './support/jaeger-api.js';
import { waitFor } from './support/peer-process.js';
import { Stack } from './support/stack.js';

const RUNS_PER_PHASE = 10;
/** start_run + chat + the root, per run */
const SPANS_PER_RUN = 3;

let stack: Stack;

before(async () => {
  stack = await Stack.start();
});

after(async () => {
  await stack?.stop();
});

/** Runs start → report (one LLM entry) → end; every call must be accepted. Returns their trace ids. */
async function runAgents(phase: string): Promise<string[]> {
  const project = `e2e-${phase}-${randomUUID().slice(0, 8)}`;
  const traceIds: string[] = [];
  for (let i = 0; i < RUNS_PER_PHASE; i++) {
    const runId = randomUUID();
    const calls = [
      await stack.bridge.tool('core_start_run', { project_key: project, agent_id: AGENT_ID, run_id: runId, summary: `${phase} run ${i}` }),
      await stack.bridge.tool('core_report_usage', {
        run_id: runId,
        token_usage: { input_tokens: 100 + i, output_tokens: 10, model: 'gpt-4o', llm_calls: 1 },
        traces: [{ model: 'gpt-4o', input_tokens: 100 + i, output_tokens: 10, duration_ms: 250 }],
      }),
      await stack.bridge.tool('core_end_run', { run_id: runId, status: 'completed' }),
    ];
    for (const call of calls) assert.equal(call.status, 200, JSON.stringify(call.body));
    traceIds.push(traceIdOf(runId));
  }
  return traceIds;
}

async function outboxEmpty(): Promise<void> {
  await waitFor('the bridge outbox to drain', async () => (await stack.outboxDepth()) === 0, 90_000);
}

/** Waits until Jaeger holds every span of the traces; returns the count it holds. */
async function spansInJaeger(traceIds: string[], expected: number): Promise<number> {
  let held = 0;
  await waitFor(
    `${expected} spans in Jaeger`,
    async () => {
      const counts = await Promise.all(traceIds.map((id) => stack.api.spanCount(id)));
      held = counts.reduce((a, b) => a + b, 0);
      return held >= expected;
    },
    90_000,
    500,
  ).catch((error: unknown) => {
    throw new Error(`${String(error)} (Jaeger holds ${held})\n${stack.logs()}`);
  });
  return held;
}

/** Spans Jaeger holds more than once (same span id), named, for a failed count's message. */
async function repeatedSpans(traceIds: string[]): Promise<string> {
  const repeated: string[] = [];
  for (const id of traceIds) {
    const seen = new Map<string, number>();
    for (const span of (await stack.api.trace(id))?.spans ?? [])
      seen.set(`${span.operationName} ${span.spanID}`, (seen.get(`${span.operationName} ${span.spanID}`) ?? 0) + 1);
    for (const [span, count] of seen) if (count > 1) repeated.push(`${id}: ${span} ×${count}`);
  }
  return repeated.join('; ') || 'none';
}

/** Sent = the bridge's own count of spans the collector accepted during the phase. */
async function phase(name: string, fault: (traceIds: () => Promise<string[]>) => Promise<string[]>): Promise<void> {
  const sentBefore = await stack.exportedSpans();
  const traceIds = await fault(() => runAgents(name));
  await outboxEmpty();
  const sent = (await stack.exportedSpans()) - sentBefore;
  assert.equal(sent, RUNS_PER_PHASE * SPANS_PER_RUN, `${name}: the bridge exported every span once`);
  const held = await spansInJaeger(traceIds, sent);
  console.log(`# ${name}: sent ${sent} spans, Jaeger holds ${held}`);
  assert.equal(held, sent, `${name}: Jaeger holds exactly the spans sent; repeated: ${await repeatedSpans(traceIds)}\n${stack.logs()}`);
}

test('Jaeger stopped for 20 s while runs end, then restarted: the collector queue delivers every span', async () => {
  await phase('jaeger-down', async (run) => {
    await stack.jaeger.stop();
    const downSince = Date.now();
    const traceIds = await run();
    await outboxEmpty(); // the collector accepted everything while Jaeger was away
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 20_000 - (Date.now() - downSince))));
    await stack.jaeger.start();
    return traceIds;
  });
});

test('the collector SIGKILLed with spans in its persistent queue, then restarted: every span arrives', async () => {
  await phase('collector-killed', async (run) => {
    await stack.jaeger.stop(); // nothing can leave the collector's queue
    const traceIds = await run();
    await outboxEmpty(); // acknowledged by the collector, so written to its file storage
    await stack.collector.kill();
    await stack.collector.start();
    await stack.jaeger.start();
    return traceIds;
  });
});

test('the collector down while the bridge keeps accepting calls: the outbox holds, then drains', async () => {
  await phase('collector-down', async (run) => {
    await stack.collector.stop();
    const traceIds = await run();
    const held = await waitFor('spans waiting in the outbox', async () => {
      const depth = await stack.outboxDepth();
      return depth >= RUNS_PER_PHASE * SPANS_PER_RUN ? depth : undefined;
    });
    assert.equal(held, RUNS_PER_PHASE * SPANS_PER_RUN, 'every span waits in the outbox while the collector is down');
    await stack.collector.start();
    return traceIds;
  });
});
