import type { BackgroundClient } from '../background.js';
import type { ToolInput } from '../schemas/schemas.js';
import { LIMITS } from '../schemas/limits.js';
import { describeError, recordedErrors } from './call-report.js';

export interface RunHandle {
  runId: string;
  projectKey: string;
  agentId: string;
}

/**
 * Opens a run, runs `fn`, and ends the run `completed`, or `failed` with the error (recorded as a
 * failure unless a model call already recorded that same error), then rethrows it. Everything goes
 * through the background queue: call `client.flush()` or `client.close()` before the process exits.
 */
export async function withRun<R>(
  client: BackgroundClient,
  args: ToolInput<'core_start_run'>,
  fn: (run: RunHandle) => Promise<R> | R,
): Promise<R> {
  const runId = client.startRun(args);
  const run: RunHandle = { runId, projectKey: args.project_key, agentId: args.agent_id };
  try {
    const value = await fn(run);
    client.send('core_end_run', { run_id: runId, status: 'completed' });
    return value;
  } catch (error) {
    const { type, message, text } = describeError(error, false);
    if (!(error !== null && typeof error === 'object' && recordedErrors.has(error))) {
      client.send('core_record_failure', {
        project_key: run.projectKey,
        run_id: runId,
        agent_id: run.agentId,
        summary: `${type}: ${message}`.slice(0, LIMITS.summary),
        error: text.slice(0, LIMITS.error),
        meta: { error_type: type },
      });
    }
    client.send('core_end_run', { run_id: runId, status: 'failed', summary: `${type}: ${message}`.slice(0, LIMITS.summary) });
    throw error;
  }
}
