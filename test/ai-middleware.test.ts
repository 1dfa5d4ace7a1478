import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateObject, generateText, simulateReadableStream, streamText, wrapLanguageModel } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { z } from 'zod';
import { createBackgroundClient, type BackgroundClient } from '@oprelay/client';
import { oprelayMiddleware, withRun } from '@oprelay/client/ai-sdk';
import { AGENT_ID, BridgeProcess } from './support/bridge-process.js';
import { OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.js';

const PROJECT = 'ai-sdk-test';

type Usage = {
  inputTokens: { total: number; noCache: number; cacheRead: number | undefined; cacheWrite: number | undefined };
  outputTokens: { total: number; text: number; reasoning: number | undefined };
};

/** The SDK's V3 usage: input includes its cache reads, output its reasoning. */
function usage(input: number, cacheRead: number, output: number, reasoning: number): Usage {
  return {
    inputTokens: { total: input, noCache: input - cacheRead, cacheRead: cacheRead || undefined, cacheWrite: undefined },
    outputTokens: { total: output, text: output - reasoning, reasoning: reasoning || undefined },
  };
}

const traceIdOf = (runId: string) => runId.replace(/-/g, '');

describe('Vercel AI SDK middleware against a real bridge', () => {
  let receiver: OtlpReceiver;
  let bridge: BridgeProcess;
  let client: BackgroundClient;

  before(async () => {
    receiver = await new OtlpReceiver().start();
    bridge = await BridgeProcess.start({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    client = createBackgroundClient({ url: bridge.url });
  });
  after(async () => {
    await client.close();
    await bridge.dispose();
    await receiver.stop();
  });

  const chatSpans = (runId: string, count: number) =>
    receiver
      .waitFor(
        (spans) => spans.filter((s) => s.traceId === traceIdOf(runId) && s.name.startsWith('chat ')).length >= count,
        10_000,
        `${count} chat spans`,
      )
      .then((spans) => spans.filter((s) => s.traceId === traceIdOf(runId) && s.name.startsWith('chat ')));

  it('generateText, streamText and generateObject: one usage report and one chat entry per call', async () => {
    const chat = new MockLanguageModelV3({
      modelId: 'mock-chat',
      doGenerate: async () => ({
        content: [{ type: 'text', text: 'hello' }],
        finishReason: { unified: 'stop', raw: 'stop' },
        usage: usage(100, 40, 20, 5),
        warnings: [],
      }),
      doStream: async () => ({
        stream: simulateReadableStream({
          chunks: [
            { type: 'stream-start', warnings: [] },
            { type: 'text-start', id: 't' },
            { type: 'text-delta', id: 't', delta: 'streamed' },
            { type: 'text-end', id: 't' },
            { type: 'finish', finishReason: { unified: 'length', raw: 'max_tokens' }, usage: usage(30, 0, 7, 0) },
          ] as const,
        }),
      }),
    });
    const json = new MockLanguageModelV3({
      modelId: 'mock-json',
      doGenerate: async () => ({
        content: [{ type: 'text', text: '{"city":"Paris"}' }],
        finishReason: { unified: 'stop', raw: 'stop' },
        usage: usage(12, 0, 3, 0),
        warnings: [],
      }),
    });

    const startedAt = Date.now();
    let runId = '';
    const answer = await withRun(
      client,
      { project_key: PROJECT, agent_id: AGENT_ID, meta_json: { agent_name: 'mock-agent' } },
      async (run) => {
        runId = run.runId;
        const middleware = oprelayMiddleware({ client, runId: run.runId });
        const generated = await generateText({ model: wrapLanguageModel({ model: chat, middleware }), prompt: 'hi' });
        const streamed = await streamText({ model: wrapLanguageModel({ model: chat, middleware }), prompt: 'hi' }).text;
        const object = await generateObject({
          model: wrapLanguageModel({ model: json, middleware }),
          schema: z.object({ city: z.string() }),
          prompt: 'where?',
        });
        return `${generated.text} ${streamed} ${object.object.city}`;
      },
    );
    assert.equal(await client.flush(), true);
    const endedAt = Date.now();
    assert.equal(answer, 'hello streamed Paris');

    const run = await client.awaited.getRun(runId);
    assert.equal(run.status, 'completed');
    assert.deepEqual(run.totals, { input_tokens: 142, output_tokens: 30, total_tokens: 172, cost_usd: 0, llm_calls: 3 });
    assert.deepEqual([...run.models].sort(), ['mock-chat', 'mock-json']);
    assert.equal(run.failures, 0);

    const spans = await chatSpans(runId, 3);
    assert.equal(spans.length, 3);
    const byFinish = (reason: string, model: string) =>
      spans.find((s) => s.attributes['oprelay.trace.finish_reason'] === reason && s.name === `chat ${model}`) as ReceivedSpan;
    const generate = byFinish('stop', 'mock-chat');
    assert.equal(generate.attributes['gen_ai.usage.input_tokens'], 100);
    assert.equal(generate.attributes['gen_ai.usage.output_tokens'], 20);
    assert.equal(generate.attributes['gen_ai.usage.cache_read.input_tokens'], 40);
    assert.equal(generate.attributes['gen_ai.usage.reasoning.output_tokens'], 5);
    assert.equal(generate.attributes['gen_ai.request.model'], 'mock-chat');
    const stream = byFinish('length', 'mock-chat');
    assert.equal(stream.attributes['gen_ai.usage.input_tokens'], 30);
    assert.equal(stream.attributes['gen_ai.usage.output_tokens'], 7);
    const object = byFinish('stop', 'mock-json');
    assert.equal(object.attributes['gen_ai.usage.input_tokens'], 12);
    for (const s of spans) {
      assert.notEqual(s.status.code, 2, `${s.name} is not an error`);
      assert.ok(s.startMs >= startedAt && s.startMs <= s.endMs && s.endMs <= endedAt, `${s.name} carries the call's own start and end`);
    }
    assert.ok(
      generate.endMs <= stream.startMs && stream.endMs <= object.startMs,
      'calls made one after another are timed one after another',
    );
  });

  it('a failed call reports an error entry and one failure; withRun ends the run failed', async () => {
    const broken = new MockLanguageModelV3({
      modelId: 'mock-broken',
      doGenerate: async () => {
        throw new TypeError('provider answered 500');
      },
    });
    let runId = '';
    await assert.rejects(
      withRun(client, { project_key: PROJECT, agent_id: AGENT_ID }, async (run) => {
        runId = run.runId;
        await generateText({
          model: wrapLanguageModel({ model: broken, middleware: oprelayMiddleware({ client, runId }) }),
          prompt: 'hi',
          maxRetries: 0,
        });
      }),
      /provider answered 500/,
    );
    await client.flush();
    const run = await client.awaited.getRun(runId);
    assert.equal(run.status, 'failed');
    assert.equal(run.failures, 1, 'the model error is recorded once, not again by withRun');
    assert.deepEqual(run.totals, { input_tokens: 0, output_tokens: 0, total_tokens: 0, cost_usd: 0, llm_calls: 1 });
    const [span] = await chatSpans(runId, 1);
    assert.equal(span.name, 'chat mock-broken');
    assert.equal(span.status.code, 2);
    const root = await receiver.waitFor(
      (spans) => spans.some((s) => s.traceId === traceIdOf(runId) && s.name === 'invoke_agent'),
      10_000,
      'root span',
    );
    const rootSpan = root.find((s) => s.traceId === traceIdOf(runId) && s.name === 'invoke_agent') as ReceivedSpan;
    assert.equal(rootSpan.attributes['error.type'], 'TypeError');
    const exception = rootSpan.events.find((e) => e.name === 'exception');
    assert.equal(exception?.attributes['exception.message'], 'chat mock-broken failed: provider answered 500');
  });

  it('an error inside a stream and an aborted stream each report an error entry and a failure', async () => {
    const failing = new MockLanguageModelV3({
      modelId: 'mock-stream-error',
      doStream: async () => ({
        stream: simulateReadableStream({
          chunks: [
            { type: 'stream-start', warnings: [] },
            { type: 'error', error: new Error('overloaded') },
            { type: 'finish', finishReason: { unified: 'error', raw: 'error' }, usage: usage(9, 0, 0, 0) },
          ] as const,
        }),
      }),
    });
    // a stream that sends one delta and then waits until the caller aborts, failing then as a provider's fetch would
    const slow = new MockLanguageModelV3({
      modelId: 'mock-slow',
      doStream: async ({ abortSignal }) => ({
        stream: new ReadableStream({
          start(controller) {
            controller.enqueue({ type: 'stream-start', warnings: [] });
            controller.enqueue({ type: 'text-start', id: 't' });
            controller.enqueue({ type: 'text-delta', id: 't', delta: 'partial' });
            abortSignal?.addEventListener('abort', () => controller.error(new DOMException('This operation was aborted', 'AbortError')));
          },
        }),
      }),
    });
    const runId = client.startRun({ project_key: PROJECT, agent_id: AGENT_ID });
    const middleware = oprelayMiddleware({ client, runId });

    const errored = streamText({ model: wrapLanguageModel({ model: failing, middleware }), prompt: 'hi', onError: () => {} });
    await errored.consumeStream();

    const abort = new AbortController();
    const aborted = streamText({
      model: wrapLanguageModel({ model: slow, middleware }),
      prompt: 'hi',
      abortSignal: abort.signal,
      onError: () => {},
    });
    const seen: string[] = [];
    try {
      for await (const delta of aborted.textStream) {
        seen.push(delta);
        abort.abort();
      }
    } catch {
      /* the SDK may surface the abort as an error */
    }
    assert.deepEqual(seen, ['partial']);
    client.send('core_end_run', { run_id: runId, status: 'interrupted' });
    await client.flush();

    const run = await client.awaited.getRun(runId);
    assert.equal(run.status, 'interrupted');
    assert.equal(run.failures, 2);
    assert.deepEqual(run.totals, { input_tokens: 9, output_tokens: 0, total_tokens: 9, cost_usd: 0, llm_calls: 2 });
    const spans = await chatSpans(runId, 2);
    const streamError = spans.find((s) => s.name === 'chat mock-stream-error') as ReceivedSpan;
    const abortedSpan = spans.find((s) => s.name === 'chat mock-slow') as ReceivedSpan;
    assert.equal(streamError.status.code, 2);
    assert.match(String(streamError.status.message), /overloaded/);
    assert.equal(abortedSpan.status.code, 2);
    assert.match(String(abortedSpan.status.message), /^AbortError/);
  });
  it('a reader that stops reading a stream early: the call is still reported once, as aborted', async () => {
    const model = new MockLanguageModelV3({
      modelId: 'mock-cancelled',
      doStream: async () => ({
        stream: new ReadableStream({
          start(controller) {
            controller.enqueue({ type: 'stream-start', warnings: [] });
            controller.enqueue({ type: 'text-start', id: 't' });
          },
        }),
      }),
    });
    const runId = client.startRun({ project_key: PROJECT, agent_id: AGENT_ID });
    const middleware = oprelayMiddleware({ client, runId });
    const params: Parameters<typeof model.doStream>[0] = { prompt: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] };
    // what wrapLanguageModel does with a middleware, called directly so the reader is ours
    const { stream } = await middleware.wrapStream!({
      doStream: () => model.doStream(params),
      doGenerate: () => model.doGenerate(params),
      params,
      model,
    });
    const reader = stream.getReader();
    assert.equal((await reader.read()).value?.type, 'stream-start');
    await reader.cancel('enough');
    client.send('core_end_run', { run_id: runId, status: 'completed' });
    await client.flush();
    const run = await client.awaited.getRun(runId);
    assert.equal(run.failures, 1);
    assert.equal(run.totals.llm_calls, 1);
    const [span] = await chatSpans(runId, 1);
    assert.equal(span.name, 'chat mock-cancelled');
    assert.equal(span.status.code, 2);
    assert.equal(span.status.message, 'AbortError: enough');
  });
});
