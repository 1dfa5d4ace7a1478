import { randomUUID } from 'node:crypto';
import { createClient, type ClientOptions, type OprelayClient } from './client.js';
import type { ToolInput, ToolName } from './schemas/schemas.js';

export interface BackgroundOptions extends ClientOptions {
  /** calls kept waiting at most (default 1000); a call arriving when the queue is full is dropped and counted */
  maxQueue?: number;
  /** told about every call that failed for good (after its retries) and about dropped calls; never awaited */
  onError?: (error: unknown, call: QueuedCall) => void;
}

export interface QueuedCall {
  name: ToolName;
  args: unknown;
}

export interface RunIdentity {
  project_key: string;
  agent_id: string;
}

/** Identities kept for runs started here; the oldest is forgotten first. */
const MAX_REMEMBERED_RUNS = 1000;

export interface BackgroundStats {
  /** waiting or in flight */
  queued: number;
  sent: number;
  /** answered with an error, or retries ran out */
  failed: number;
  /** never sent: the queue was full, or the client was closed */
  dropped: number;
}

export interface BackgroundClient {
  /** Queues a call and returns at once; never throws. False when the call was dropped. */
  send<T extends ToolName>(name: T, args: ToolInput<T>): boolean;
  /** Queues `core_start_run` and returns its `run_id` (generated when not given), so later calls can name the run. */
  startRun(args: ToolInput<'core_start_run'>): string;
  /** Waits until every queued call was sent or failed, or until `timeoutMs` passed; true when the queue is empty. */
  flush(timeoutMs?: number): Promise<boolean>;
  /** Stops taking calls, then flushes. */
  close(timeoutMs?: number): Promise<boolean>;
  stats(): BackgroundStats;
  /** The project and agent a run was started with through `startRun`, so integrations can record its failures. */
  runIdentity(runId: string): RunIdentity | undefined;
  /** The awaited client on the same settings, for the calls whose answers the caller needs. */
  readonly awaited: OprelayClient;
}

/**
 * Reports that never slow or break the agent: calls go into a bounded in-memory queue and are sent
 * one at a time, in order (a run's start reaches the bridge before its usage), with the awaited
 * client's retries, off the caller's path.
 */
export function createBackgroundClient(options: BackgroundOptions): BackgroundClient {
  const awaited = createClient(options);
  const maxQueue = Math.max(1, options.maxQueue ?? 1000);
  const queue: QueuedCall[] = [];
  const counts = { sent: 0, failed: 0, dropped: 0 };
  let inFlight = false;
  let closed = false;
  let idle: Promise<void> = Promise.resolve();
  const identities = new Map<string, RunIdentity>();

  const tell = (error: unknown, call: QueuedCall) => {
    try {
      options.onError?.(error, call);
    } catch {
      /* a broken error callback must not break the queue */
    }
  };

  async function drain(): Promise<void> {
    inFlight = true;
    try {
      for (let call = queue[0]; call; call = queue[0]) {
        try {
          await awaited.call(call.name, call.args as ToolInput<ToolName>);
          counts.sent++;
        } catch (err) {
          counts.failed++;
          tell(err, call);
        }
        queue.shift();
      }
    } finally {
      inFlight = false;
    }
  }

  function enqueue(call: QueuedCall): boolean {
    if (closed || queue.length >= maxQueue) {
      counts.dropped++;
      tell(new Error(closed ? 'the background client is closed' : `the queue is full (${maxQueue} calls)`), call);
      return false;
    }
    queue.push(call);
    if (!inFlight) idle = drain();
    return true;
  }

  async function flush(timeoutMs = 30_000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    try {
      // a call queued while waiting starts a new drain, so wait until none is running
      while (queue.length > 0) {
        const done = await Promise.race([idle.then(() => true), timedOut.then(() => false)]);
        if (!done) break;
      }
    } finally {
      clearTimeout(timer);
    }
    return queue.length === 0;
  }

  return {
    send(name, args) {
      return enqueue({ name, args });
    },
    startRun(args) {
      const runId = (args.run_id ?? randomUUID()).toLowerCase();
      identities.set(runId, { project_key: args.project_key, agent_id: args.agent_id });
      if (identities.size > MAX_REMEMBERED_RUNS) identities.delete(identities.keys().next().value as string);
      enqueue({ name: 'core_start_run', args: { ...args, run_id: runId } });
      return runId;
    },
    flush,
    async close(timeoutMs) {
      closed = true;
      return flush(timeoutMs);
    },
    stats: () => ({ queued: queue.length, ...counts }),
    runIdentity: (runId) => identities.get(runId.toLowerCase()),
    awaited,
  };
}
