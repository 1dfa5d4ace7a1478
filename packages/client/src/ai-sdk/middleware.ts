import type { LanguageModelMiddleware } from 'ai';
import type { BackgroundClient } from '../background.js';
import { reportCall, type CallUsage, type ReportTarget } from './call-report.js';

type WrapGenerate = NonNullable<LanguageModelMiddleware['wrapGenerate']>;
type WrapStream = NonNullable<LanguageModelMiddleware['wrapStream']>;
type CallOptions = Parameters<WrapGenerate>[0]['params'];
type GenerateResult = Awaited<ReturnType<WrapGenerate>>;
type StreamResult = Awaited<ReturnType<WrapStream>>;
type StreamPart = StreamResult['stream'] extends ReadableStream<infer P> ? P : never;
type ModelUsage = GenerateResult['usage'];
type FinishReason = GenerateResult['finishReason'];

export interface OprelayMiddlewareOptions {
  /** the background client: reports are queued, never awaited by the model call */
  client: BackgroundClient;
  /** the run the calls belong to (from `client.startRun` or `withRun`) */
  runId: string;
  /** for `core_record_failure`; defaults to what `client.startRun` was given for this run */
  projectKey?: string;
  /** for `core_record_failure`; defaults to what `client.startRun` was given for this run */
  agentId?: string;
}

const present = <T extends object>(value: T): T => Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;

/** The SDK's usage → the bridge's fields; input includes cache reads, as in the GenAI conventions. */
export function usageOf(usage: ModelUsage | undefined): CallUsage {
  if (!usage) return {};
  const input = usage.inputTokens.total;
  const output = usage.outputTokens.total;
  return present({
    input_tokens: input,
    output_tokens: output,
    total_tokens: input !== undefined || output !== undefined ? (input ?? 0) + (output ?? 0) : undefined,
    cache_read_input_tokens: usage.inputTokens.cacheRead,
    cache_creation_input_tokens: usage.inputTokens.cacheWrite,
    reasoning_output_tokens: usage.outputTokens.reasoning,
  });
}

const finishReasonOf = (reason: FinishReason | undefined): string | undefined => reason?.unified;

/**
 * A language-model middleware for `wrapLanguageModel`: after every model call (generateText,
 * streamText, generateObject…) one `core_report_usage` with the call's tokens, model and a
 * `chat {model}` trace entry timed from the call's start to its end (a stream's end: its last
 * chunk); a failed or aborted call reports an error entry and a `core_record_failure`.
 */
export function oprelayMiddleware(options: OprelayMiddlewareOptions): LanguageModelMiddleware {
  const target: ReportTarget = { client: options.client, runId: options.runId, projectKey: options.projectKey, agentId: options.agentId };

  const isAborted = (params: CallOptions, error: unknown): boolean =>
    params.abortSignal?.aborted === true || (error instanceof Error && error.name === 'AbortError');

  return {
    specificationVersion: 'v3',

    async wrapGenerate({ doGenerate, params, model }) {
      const startedAt = Date.now();
      try {
        const result = await doGenerate();
        reportCall(target, {
          model: model.modelId,
          startedAt,
          endedAt: Date.now(),
          usage: usageOf(result.usage),
          finishReason: finishReasonOf(result.finishReason),
        });
        return result;
      } catch (error) {
        reportCall(target, { model: model.modelId, startedAt, endedAt: Date.now(), usage: {}, error, aborted: isAborted(params, error) });
        throw error;
      }
    },

    async wrapStream({ doStream, params, model }) {
      const startedAt = Date.now();
      let result: StreamResult;
      try {
        result = await doStream();
      } catch (error) {
        reportCall(target, { model: model.modelId, startedAt, endedAt: Date.now(), usage: {}, error, aborted: isAborted(params, error) });
        throw error;
      }
      let usage: ModelUsage | undefined;
      let finishReason: FinishReason | undefined;
      let streamError: unknown;
      let reported = false;
      // exactly one report per call, whichever comes first: the stream's end, its cancellation, or an abort
      const finish = (extra: { error?: unknown; aborted?: boolean } = {}) => {
        if (reported) return;
        reported = true;
        params.abortSignal?.removeEventListener('abort', onAbort);
        const error = extra.error ?? streamError;
        reportCall(target, {
          model: model.modelId,
          startedAt,
          endedAt: Date.now(),
          usage: usageOf(usage),
          finishReason: finishReasonOf(finishReason),
          ...(error !== undefined ? { error } : {}),
          ...(extra.aborted ? { aborted: true } : {}),
        });
      };
      const onAbort = () => finish({ error: params.abortSignal?.reason, aborted: true });
      if (params.abortSignal?.aborted) onAbort();
      else params.abortSignal?.addEventListener('abort', onAbort, { once: true });

      const observe = (part: StreamPart) => {
        if (part.type === 'finish') {
          usage = part.usage;
          finishReason = part.finishReason;
        } else if (part.type === 'error') {
          streamError = part.error;
        }
      };
      // pulled through by hand rather than piped, so a reader that stops early (cancel) is seen too
      const reader = result.stream.getReader();
      const watched = new ReadableStream<StreamPart>({
        async pull(controller) {
          let next: ReadableStreamReadResult<StreamPart>;
          try {
            next = await reader.read();
          } catch (error) {
            finish({ error, aborted: isAborted(params, error) });
            controller.error(error);
            return;
          }
          if (next.done) {
            finish();
            controller.close();
            return;
          }
          observe(next.value);
          controller.enqueue(next.value);
        },
        cancel(reason) {
          finish({ error: reason ?? new Error('the stream was cancelled by its reader'), aborted: true });
          return reader.cancel(reason);
        },
      });
      return { ...result, stream: watched };
    },
  };
}
