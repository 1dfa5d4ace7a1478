import type { OutboxStore } from '../../src/export/outbox-relay.js';
import type { Logger } from '../../src/log.js';
import type { MetricEffect, MetricSink } from '../../src/runs/effects.js';
import { SPAN_KIND, spanRecord, type SpanRecord } from '../../src/telemetry/span-record.js';

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

/** A span for outbox tests: one run of project `shop`, its span id made from its name. */
export function outboxSpan(name: string, attributes: SpanRecord['attributes'] = {}): SpanRecord {
  return spanRecord({
    project_key: 'shop',
    trace_id: '0b7e6f2a1c3d4e5f8a9b0c1d2e3f4a5b',
    span_id: Buffer.from(name).toString('hex').padEnd(16, '0').slice(0, 16),
    parent_span_id: null,
    trace_flags: 1,
    name,
    kind: SPAN_KIND.INTERNAL,
    start: 1,
    end: 2,
    attributes: { 'oprelay.run.id': '0b7e6f2a-1c3d-4e5f-8a9b-0c1d2e3f4a5b', ...attributes },
  });
}
