import { randomUUID } from 'node:crypto';
import { OprelayError } from './errors.js';
import { runViewSchema, toolResultSchemas, type RunViewResult, type ToolResult } from './schemas/results.js';
import type { ToolInput, ToolName } from './schemas/schemas.js';
import { createTransport, type TransportOptions } from './transport.js';

export type ClientOptions = TransportOptions;

export interface CallOptions {
  /** the `Idempotency-Key` header (default: a new UUID per call); a caller that re-sends a call later keeps its key */
  idempotencyKey?: string;
}

export interface OprelayClient {
  /** Calls a tool; `core_start_run` gets a generated `run_id` when none is given. Throws `OprelayError`. */
  call<T extends ToolName>(name: T, args: ToolInput<T>, options?: CallOptions): Promise<ToolResult<T>>;
  /** `GET /v1/runs/{run_id}`: status, totals, timestamps and trace identity. */
  getRun(runId: string): Promise<RunViewResult>;
}

function checked<R>(value: unknown, schema: { safeParse(v: unknown): { success: boolean } }, what: string): R {
  if (!schema.safeParse(value).success) throw new OprelayError('invalid_response', `${what}: the answer does not match its schema`, 200);
  return value as R;
}

/** A typed client for the bridge's HTTP JSON API; every call carries an Idempotency-Key so its retries are safe. */
export function createClient(options: ClientOptions): OprelayClient {
  const { send, auth } = createTransport(options);
  return {
    async call<T extends ToolName>(name: T, args: ToolInput<T>, callOptions: CallOptions = {}): Promise<ToolResult<T>> {
      const body: Record<string, unknown> = { ...(args as Record<string, unknown>) };
      if (name === 'core_start_run' && body.run_id === undefined) body.run_id = randomUUID();
      const answer = (await send(`/v1/tools/${encodeURIComponent(name)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': callOptions.idempotencyKey ?? randomUUID(), ...auth },
        body: JSON.stringify(body),
      })) as { result?: unknown };
      return checked<ToolResult<T>>(answer.result, toolResultSchemas[name], name);
    },
    async getRun(runId: string): Promise<RunViewResult> {
      const answer = await send(`/v1/runs/${encodeURIComponent(runId)}`, { method: 'GET', headers: { ...auth } });
      return checked<RunViewResult>(answer, runViewSchema, 'getRun');
    },
  };
}
