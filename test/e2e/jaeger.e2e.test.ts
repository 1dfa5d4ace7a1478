/**
 * Runs as an SRE sees them in Jaeger: bridge → the repo's otel-collector.yaml on a real Collector →
 * a real Jaeger v2, asserted through Jaeger's own query API.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { AGENT_ID, TASK_ID } from '../support/bridge-process.js';
import { field, parentOf, spanNamed, tag, traceIdOf, type JaegerTrace } from './support/jaeger-api.js';
import { waitFor } from './support/peer-process.js';
import { Stack } from './support/stack.js';

let stack: Stack;

/** Waits until Jaeger holds `count` spans for the trace, then returns it. */
async function traceWithSpans(traceId: string, count: number): Promise<JaegerTrace> {
  return waitFor(`${count} spans of trace ${traceId} in Jaeger`, async () => {
    const trace = await stack.api.trace(traceId);
    return trace && trace.spans.length >= count ? trace : undefined;
  }).catch((error: unknown) => {
    throw new Error(`${String(error)}\n${stack.logs()}`);
  });
}

// every test once per OTLP encoding: the protobuf requests are joined from the Span messages the
// outbox stores (docs/architecture.md#stored-spans), the JSON ones decoded from them
for (const protocol of ['http/protobuf', 'http/json'] as const) {
  describe(`over OTLP ${protocol}`, () => {
    before(async () => {
      stack = await Stack.start({ OTEL_EXPORTER_OTLP_PROTOCOL: protocol });
    });

    after(async () => {
      await stack?.stop();
    });

    test('the seed flow is one trace in Jaeger: root with totals, chat/tool children, the failure as an exception event', async () => {
      const bridge = stack.bridge;
      const project = `e2e-seed-${randomUUID().slice(0, 8)}`;
      const runId = randomUUID();
      const t0 = Date.now() + 1_000;
      const started = await bridge.tool('core_start_run', {
        project_key: project,
        agent_id: AGENT_ID,
        run_id: runId,
        summary: 'Deploying rate limiter to staging',
        meta_json: { agent_name: 'deployer' },
      });
      assert.equal(started.status, 200, JSON.stringify(started.body));
      assert.equal(started.body.result.trace_id, traceIdOf(runId));

      const reported = await bridge.tool('core_report_usage', {
        run_id: runId,
        token_usage: { input_tokens: 8400, output_tokens: 1200, cost_usd: 0.028, model: 'claude-opus-4', llm_calls: 3 },
        traces: [
          {
            type: 'llm',
            model: 'claude-opus-4',
            input_tokens: 5000,
            output_tokens: 700,
            started_at: new Date(t0).toISOString(),
            ended_at: new Date(t0 + 1_200).toISOString(),
          },
          { tool: 'kubectl', started_at: t0 + 1_300, ended_at: t0 + 1_600, status: 'ok' },
        ],
      });
      assert.equal(reported.status, 200, JSON.stringify(reported.body));

      const failed = await bridge.tool('core_record_failure', {
        project_key: project,
        run_id: runId,
        agent_id: AGENT_ID,
        task_id: TASK_ID,
        summary: 'Database connection timeout during migration',
        error: 'Error: connect ETIMEDOUT 10.0.0.5:5432',
        context: { migration: '0042_add_index', attempt: 2 },
      });
      assert.equal(failed.status, 200, JSON.stringify(failed.body));

      const ended = await bridge.tool('core_end_run', {
        run_id: runId,
        status: 'completed',
        summary: 'Rate limiter deployed and verified in staging',
        token_usage: { input_tokens: 12400, output_tokens: 3200, cost_usd: 0.042, model: 'claude-opus-4', llm_calls: 7 },
      });
      assert.equal(ended.status, 200, JSON.stringify(ended.body));

      // start_run + root + chat + execute_tool + one LLM span each for the usage no entry covers (report, end)
      const trace = await traceWithSpans(traceIdOf(runId), 6);
      assert.equal(trace.traceID, traceIdOf(runId));
      assert.deepEqual(trace.spans.map((s) => s.operationName).sort(), [
        'chat claude-opus-4',
        'chat claude-opus-4',
        'chat claude-opus-4',
        'execute_tool kubectl',
        'invoke_agent deployer',
        'start_run',
      ]);
      assert.ok((await stack.api.services()).includes(project), 'project_key is a Jaeger service');
      for (const span of trace.spans) assert.equal(trace.processes[span.processID]?.serviceName, project);

      const root = spanNamed(trace, 'invoke_agent deployer');
      assert.equal(parentOf(root), undefined, 'the run is the trace root');
      assert.equal(tag(root, 'gen_ai.usage.input_tokens'), 12400);
      assert.equal(tag(root, 'gen_ai.usage.output_tokens'), 3200);
      assert.equal(tag(root, 'llm.cost.total'), 0.042);
      assert.equal(tag(root, 'openinference.span.kind'), 'AGENT');
      assert.equal(tag(root, 'oprelay.usage.cost_usd'), 0.042);
      assert.equal(tag(root, 'oprelay.usage.llm_calls'), 7);
      assert.equal(tag(root, 'gen_ai.request.model'), 'claude-opus-4');
      assert.equal(tag(root, 'oprelay.run.status'), 'completed');
      assert.equal(tag(root, 'otel.status_code'), 'OK');

      const exception = root.logs.find((l) => field(l, 'event') === 'exception');
      assert.ok(exception, `the failure is an exception event on the root: ${JSON.stringify(root.logs)}`);
      assert.equal(field(exception, 'exception.message'), 'Database connection timeout during migration');
      assert.equal(field(exception, 'exception.stacktrace'), 'Error: connect ETIMEDOUT 10.0.0.5:5432');
      assert.equal(field(exception, 'oprelay.task.id'), TASK_ID);

      // every token the run counts is on exactly one LLM span: the entry's, the rest of the report, the rest of the end
      const llm = trace.spans.filter((s) => tag(s, 'openinference.span.kind') === 'LLM');
      assert.deepEqual(
        llm
          .map((s) => [
            tag(s, 'oprelay.usage.uncovered_by') ?? 'entry',
            tag(s, 'gen_ai.usage.input_tokens'),
            tag(s, 'gen_ai.usage.output_tokens'),
          ])
          .sort(),
        [
          ['entry', 5000, 700],
          ['run_totals', 4000, 2000],
          ['usage_report', 3400, 500],
        ],
      );
      const chat = llm.find((s) => tag(s, 'oprelay.usage.uncovered_by') === undefined)!;
      assert.equal(parentOf(chat), root.spanID);
      assert.equal(chat.duration, 1_200_000, 'the LLM call keeps its own duration (µs)');
      assert.equal(chat.startTime, t0 * 1_000);
      assert.equal(tag(chat, 'gen_ai.usage.input_tokens'), 5000);
      assert.equal(tag(chat, 'span.kind'), 'client');
      const tool = spanNamed(trace, 'execute_tool kubectl');
      assert.equal(parentOf(tool), root.spanID);
      assert.equal(tool.duration, 300_000);
      assert.equal(tag(tool, 'gen_ai.tool.name'), 'kubectl');
      assert.equal(parentOf(spanNamed(trace, 'start_run')), root.spanID);
      const excerpt = trace.spans.map((s) => ({
        operationName: s.operationName,
        spanID: s.spanID,
        parent: parentOf(s) ?? null,
        duration_us: s.duration,
        tags: s.tags
          .filter((t) => /^(gen_ai\.(usage|request)|otel\.status_code|error)/.test(t.key))
          .map((t) => `${t.key}=${String(t.value)}`),
      }));
      console.log(`# Jaeger /api/traces/${trace.traceID}: ${JSON.stringify(excerpt)}`);
    });

    test('a failed run has error status and the failure type on its root', async () => {
      const bridge = stack.bridge;
      const project = `e2e-fail-${randomUUID().slice(0, 8)}`;
      const runId = randomUUID();
      await bridge.tool('core_start_run', { project_key: project, agent_id: AGENT_ID, run_id: runId, summary: 'migrate' });
      await bridge.tool('core_record_failure', {
        project_key: project,
        run_id: runId,
        agent_id: AGENT_ID,
        summary: 'Schema migration failed',
        error: 'MigrationError: column "rate" already exists',
      });
      const ended = await bridge.tool('core_end_run', { run_id: runId, status: 'failed', summary: 'gave up after the migration failed' });
      assert.equal(ended.status, 200, JSON.stringify(ended.body));

      const trace = await traceWithSpans(traceIdOf(runId), 2);
      const root = spanNamed(trace, 'invoke_agent');
      assert.equal(tag(root, 'otel.status_code'), 'ERROR');
      assert.equal(tag(root, 'error'), true);
      assert.equal(tag(root, 'error.type'), 'MigrationError');
      assert.equal(tag(root, 'otel.status_description'), 'gave up after the migration failed');
    });

    test('a running run is visible in Jaeger before it ends, by its start_run span', async () => {
      const project = `e2e-running-${randomUUID().slice(0, 8)}`;
      const runId = randomUUID();
      const started = await stack.bridge.tool('core_start_run', {
        project_key: project,
        agent_id: AGENT_ID,
        run_id: runId,
        summary: 'long job',
      });
      assert.equal(started.status, 200);

      const trace = await traceWithSpans(traceIdOf(runId), 1);
      assert.deepEqual(
        trace.spans.map((s) => s.operationName),
        ['start_run'],
      );
      const rootSpanId = started.body.result.traceparent.split('-')[2];
      assert.equal(parentOf(trace.spans[0]!), rootSpanId, 'start_run points at the root span that will come at the end');

      await stack.bridge.tool('core_end_run', { run_id: runId, status: 'completed' });
      const ended = await traceWithSpans(traceIdOf(runId), 2);
      assert.equal(spanNamed(ended, 'invoke_agent').spanID, rootSpanId);
    });

    test('a sub-agent run nests under its parent in the same trace; record_run is a one-span trace', async () => {
      const project = `e2e-tree-${randomUUID().slice(0, 8)}`;
      const parentId = randomUUID();
      const childId = randomUUID();
      await stack.bridge.tool('core_start_run', {
        project_key: project,
        agent_id: AGENT_ID,
        run_id: parentId,
        meta_json: { agent_name: 'planner' },
      });
      const child = await stack.bridge.tool('core_start_run', {
        project_key: project,
        agent_id: AGENT_ID,
        run_id: childId,
        meta_json: { agent_name: 'coder', parent_run_id: parentId },
      });
      assert.equal(child.body.result.trace_id, traceIdOf(parentId), 'the sub-agent joins the parent trace');
      await stack.bridge.tool('core_end_run', { run_id: childId, status: 'completed' });
      await stack.bridge.tool('core_end_run', { run_id: parentId, status: 'completed' });

      // two start_run spans and two roots
      const trace = await traceWithSpans(traceIdOf(parentId), 4);
      const parentRoot = spanNamed(trace, 'invoke_agent planner');
      const childRoot = spanNamed(trace, 'invoke_agent coder');
      assert.equal(parentOf(parentRoot), undefined);
      assert.equal(parentOf(childRoot), parentRoot.spanID);
      assert.equal(await stack.api.trace(traceIdOf(childId)), undefined, 'no second trace for the sub-agent');

      const recorded = await stack.bridge.tool('record_run', {
        project_key: project,
        agent: 'claude-opus',
        ticket: 'OPR-429',
        summary: 'Implemented project isolation.',
      });
      assert.equal(recorded.status, 200, JSON.stringify(recorded.body));
      const single = await traceWithSpans(recorded.body.result.trace_id, 1);
      assert.equal(single.spans.length, 1);
      assert.equal(single.spans[0]!.operationName, 'record_run claude-opus');
      assert.equal(tag(single.spans[0]!, 'oprelay.ticket'), 'OPR-429');
    });
  });
}
