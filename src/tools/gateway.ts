import { BridgeError } from '../errors.js';
import type { CallContext, RunService } from '../runs/run-service.js';
import { callTool } from './dispatch.js';

export interface GatewayOptions {
  service: RunService;
  /** current outbox depth estimate and its limit */
  outboxDepth: () => number;
  maxOutboxRows: number;
}

/** Admission in front of the tools: draining and outbox backpressure answer 503 with Retry-After. */
export class ToolGateway {
  draining = false;
  private inFlight = 0;
  private idle: (() => void) | undefined;

  constructor(private readonly options: GatewayOptions) {}

  async call(name: string, args: unknown, ctx: CallContext): Promise<object> {
    if (ctx.readOnly)
      throw new BridgeError('forbidden', 'this is a read-only API key: it can read runs and /metrics but make no tool call');
    if (this.draining) throw new BridgeError('backpressure', 'the bridge is shutting down; retry on another replica', undefined, 1);
    if (this.options.outboxDepth() >= this.options.maxOutboxRows)
      throw new BridgeError(
        'backpressure',
        `the outbox holds ${this.options.outboxDepth()} spans, over BRIDGE_OUTBOX_MAX_ROWS=${this.options.maxOutboxRows}; the collector is not keeping up`,
        undefined,
        5,
      );
    this.inFlight++;
    try {
      return await callTool(this.options.service, name, args, ctx);
    } finally {
      if (--this.inFlight === 0) this.idle?.();
    }
  }

  /** Stops admitting calls and waits for those in flight. */
  async drain(): Promise<void> {
    this.draining = true;
    if (this.inFlight === 0) return;
    await new Promise<void>((resolve) => (this.idle = resolve));
  }
}
