/**
 * The stored form of a span: what the outbox holds and the relay turns into a ReadableSpan.
 * Times are epoch milliseconds (fractions allowed).
 */
export type AttrValue = string | number | boolean | string[] | number[] | boolean[];
export type Attributes = Record<string, AttrValue>;

export interface StoredEvent {
  name: string;
  time: number;
  attributes: Attributes;
}

export interface SpanLinkRecord {
  trace_id: string;
  span_id: string;
  attributes?: Attributes;
}

export const SPAN_KIND = { INTERNAL: 0, SERVER: 1, CLIENT: 2 } as const;
export const STATUS_CODE = { UNSET: 0, OK: 1, ERROR: 2 } as const;

export interface SpanRecord {
  project_key: string;
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  trace_flags: number;
  name: string;
  kind: number;
  start: number;
  end: number;
  attributes: Attributes;
  events: StoredEvent[];
  links: SpanLinkRecord[];
  status: { code: number; message?: string };
  dropped_attributes: number;
  dropped_events: number;
}

/** What every span names; events, links, status and drop counts start empty unless given. */
export type SpanFields = Pick<
  SpanRecord,
  'project_key' | 'trace_id' | 'span_id' | 'parent_span_id' | 'trace_flags' | 'name' | 'kind' | 'start' | 'end' | 'attributes'
> &
  Partial<SpanRecord>;

/** The one place a span record is assembled. */
export function spanRecord(fields: SpanFields): SpanRecord {
  return { events: [], links: [], status: { code: STATUS_CODE.UNSET }, dropped_attributes: 0, dropped_events: 0, ...fields };
}

/** The run a span belongs to (outbox rows carry it for logs and status). */
export function runIdOf(span: SpanRecord): string | null {
  const v = span.attributes['oprelay.run.id'];
  return typeof v === 'string' ? v : null;
}
