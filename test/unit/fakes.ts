import type { OutboxStore } from '../../src/export/outbox-relay.js';
import type { Logger } from '../../src/log.js';
import type { MetricEffect, MetricSink } from '../../src/runs/effects.js';
import type { SpanRecord } from '../../src/telemetry/span-record.js';

/** A clock the test moves by hand. */
export class FakeClock {
  constructor(public time = Date.UTC(2026, 0, 15, 9, 0, 0)) {}
  readonly now = (): number => this.time;
  advance(ms: number): number {
    this.time += ms;
    return this.time;
  }
}

/** Keeps every metric effect applied to it, in order. */
export class RecordingMetrics implements MetricSink {
  readonly effects: MetricEffect[] = [];
  apply(effects: MetricEffect[]): void {
    this.effects.push(...effects);
  }
}

/** Keeps log lines instead of writing them. */
export class RecordingLog implements Logger {
  readonly lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  debug = (msg: string, fields?: Record<string, unknown>) => void this.lines.push({ level: 'debug', msg, fields });
  info = (msg: string, fields?: Record<string, unknown>) => void this.lines.push({ level: 'info', msg, fields });
  warn = (msg: string, fields?: Record<string, unknown>) => void this.lines.push({ level: 'warn', msg, fields });
  error = (msg: string, fields?: Record<string, unknown>) => void this.lines.push({ level: 'error', msg, fields });
}

/** Takes every due span out of the store's outbox (claim + ack), in enqueue order. */
export async function drainOutbox(store: Pick<OutboxStore, 'claimOutbox' | 'ackOutbox'>, now: number): Promise<SpanRecord[]> {
  const rows = await store.claimOutbox('test-drain', 10_000, 60_000, now);
  await store.ackOutbox(rows.map((r) => r.id));
  return rows.map((r) => r.span);
}
