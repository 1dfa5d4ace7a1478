import type { RunRecord, RunStatus, UsageEntry } from '../runs/model.js';
import { agentOf, lastFailureAt, modelOf } from './run-columns.js';
import { decodeSpan, splitStoredSpan } from '../telemetry/otlp-span-decode.js';
import { encodeStoredSpan } from '../telemetry/otlp-span.js';
import type { SpanRecord, StoredEvent } from '../telemetry/span-record.js';

export interface OutboxRow {
  id: number;
  run_id: string | null;
  created_at: number;
  attempts: number;
  /**
   * The span as stored: its project key and OTLP protobuf `Span` message (telemetry/otlp-span.ts),
   * what the export worker joins into a request. Rows written as JSON text by earlier versions are
   * encoded on first use.
   */
  readonly stored: Uint8Array;
  /** the span as a record, decoded on first use (dead letters, OTLP/JSON, logs) */
  readonly span: SpanRecord;
}

/** What a store column holds for a span: encoded bytes, or the JSON text of earlier versions. */
export type StoredSpanValue = Uint8Array | string;

const OPEN_BRACE = 0x7b;

/** The encoded form of a stored span value, whichever version wrote it. */
export function storedSpanBytes(value: StoredSpanValue): Uint8Array {
  if (typeof value === 'string') return encodeStoredSpan(JSON.parse(value) as SpanRecord);
  // JSON text kept as bytes (a Postgres column converted to bytea) starts with '{'; the envelope never does
  if (value[0] === OPEN_BRACE) return encodeStoredSpan(JSON.parse(Buffer.from(value).toString('utf8')) as SpanRecord);
  return value;
}

/** A stored span value as a record. */
export function spanOfStored(value: StoredSpanValue): SpanRecord {
  if (typeof value === 'string') return JSON.parse(value) as SpanRecord;
  const { project_key, span } = splitStoredSpan(storedSpanBytes(value));
  return decodeSpan(span, project_key);
}

/** An outbox row as read from a store; the span is decoded only if someone asks for it. */
export class StoredOutboxRow implements OutboxRow {
  private decoded: SpanRecord | undefined;
  private bytes: Uint8Array | undefined;
  constructor(
    readonly id: number,
    readonly run_id: string | null,
    readonly created_at: number,
    readonly attempts: number,
    private readonly value: StoredSpanValue,
  ) {}

  get stored(): Uint8Array {
    return (this.bytes ??= storedSpanBytes(this.value));
  }

  get span(): SpanRecord {
    return (this.decoded ??= spanOfStored(this.value));
  }
}

export interface DeadLetterRow extends OutboxRow {
  dead_at: number;
  reason: string;
}

/** A dead letter as a plain object (span decoded: dead letters are read by people, rarely). */
export function deadLetterRow(row: OutboxRow, dead_at: number, reason: string): DeadLetterRow {
  const { id, run_id, created_at, attempts, stored, span } = row;
  return { id, run_id, created_at, attempts, stored, span, dead_at, reason };
}

/** Every status but `running`, for the SQL stores' index range (the check below fails to compile if one is missing). */
export const ENDED_STATUSES = ['completed', 'failed', 'interrupted'] as const satisfies readonly Exclude<RunStatus, 'running'>[];
const everyEndedStatus: [Exclude<RunStatus, 'running' | (typeof ENDED_STATUSES)[number]>] extends [never] ? true : never = true;
void everyEndedStatus;

export interface ActiveRuns {
  count: number;
  /** epoch ms */
  oldestStartedAt: number;
}

export interface ApiKeyRecord {
  id: string;
  hash: string;
  projects: string[];
  created_at: number;
  revoked_at: number | null;
  label: string | null;
  /** `read`: reads runs and /metrics, makes no tool call */
  scope: KeyScope;
}

export type KeyScope = 'write' | 'read';

export type RunSort = 'started_at' | 'cost';

export interface RunQuery {
  /** projects the caller may see; undefined = all */
  projects?: string[];
  project_key?: string;
  status?: RunStatus;
  agent_id?: string;
  /** the agent's name (meta_json.agent_name, record_run's agent), else its id */
  agent?: string;
  since?: number;
  /** started before this (epoch ms, exclusive) */
  until?: number;
  min_cost?: number;
  parent_run_id?: string;
  sort: RunSort;
  limit: number;
  cursor?: string;
}

export type UsageGroupBy = 'project' | 'agent' | 'model';

/** usage_summary and `GET /v1/usage`: runs started in [since, until), grouped. */
export interface UsageQuery {
  /** projects the caller may see; undefined = all */
  projects?: string[];
  project_key?: string;
  agent?: string;
  since?: number;
  until?: number;
  group_by: UsageGroupBy;
}

/** One group of a usage summary; key null = runs without an agent name / model. */
export interface UsageGroup {
  key: string | null;
  runs: number;
  failed_runs: number;
  failures: number;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  cost_usd: number;
  llm_calls: number;
}

/** recent_failures: runs whose last failure is at or after `since`, newest first. */
export interface FailedRunsQuery {
  projects?: string[];
  project_key?: string;
  agent?: string;
  since?: number;
  limit: number;
}

/** A tool call's first answer under an idempotency key, and a hash of the request that got it. */
export interface IdempotentAnswer {
  response: unknown;
  /** null for answers stored before request hashes were kept */
  request_hash: string | null;
}

/** What one tool call may read and write, inside one transaction holding the run's lock. */
export interface StoreTx {
  /**
   * The run as this call sees it. A call reads each run once: asking again (a guard, then the
   * call's body) gives the same object, with the call's own changes, and after saveRun the object
   * saved. A call that changes a run and does not save it must not read it again.
   */
  getRun(runId: string): Promise<RunRecord | null>;
  saveRun(run: RunRecord): Promise<void>;
  enqueue(spans: SpanRecord[], now: number): Promise<void>;
  /** Appends an event for the run's root span (kept apart from the run document, so reports stay cheap). */
  appendEvent(runId: string, seq: number, event: StoredEvent): Promise<void>;
  /** The run's stored root-span events in order, removed from the store (the root span takes them). */
  takeEvents(runId: string): Promise<StoredEvent[]>;
  /** Appends entry `seq` of the run's usage timeline (kept apart from the run document, like events). */
  appendUsage(runId: string, seq: number, entry: UsageEntry): Promise<void>;
  getIdempotent(scope: string, notBefore: number): Promise<IdempotentAnswer | undefined>;
  putIdempotent(scope: string, answer: IdempotentAnswer, now: number): Promise<void>;
}

/**
 * Run state, the span outbox, dead letters, idempotency records and API keys.
 * Every backend passes the same contract suite (test/store-contract.ts).
 */
export interface RunStore {
  readonly kind: 'memory' | 'sqlite' | 'postgres';
  init(): Promise<void>;
  close(): Promise<void>;
  ping(): Promise<void>;

  /** Runs fn in one transaction with the run locked; rolls back everything if fn throws. */
  transact<T>(runId: string, fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  getRun(runId: string): Promise<RunRecord | null>;
  /** The run's usage timeline in order (see StoreTx.appendUsage). */
  usageTimeline(runId: string): Promise<UsageEntry[]>;
  listRuns(query: RunQuery): Promise<{ runs: RunRecord[]; next_cursor: string | null }>;
  /** Sums of runs, tokens, cost and failures per group, computed by the store (GROUP BY in SQL). */
  usageSummary(query: UsageQuery): Promise<UsageGroup[]>;
  /** The runs with the latest failures, newest last failure first (recent_failures reads their failure logs). */
  failedRuns(query: FailedRunsQuery): Promise<RunRecord[]>;
  /** running runs per project: how many, and when the oldest of them started */
  activeRuns(): Promise<Map<string, ActiveRuns>>;
  /** ids of running runs idle since before idleBefore or started before startedBefore */
  findStaleRuns(idleBefore: number, startedBefore: number, limit: number): Promise<string[]>;

  outboxStats(now: number): Promise<{ depth: number; oldestAgeMs: number | null }>;
  /** Claims due rows not leased by anyone (or whose lease expired) for leaseMs. */
  claimOutbox(owner: string, limit: number, leaseMs: number, now: number): Promise<OutboxRow[]>;
  ackOutbox(ids: number[]): Promise<void>;
  retryOutbox(ids: number[], nextAttemptAt: number): Promise<void>;
  deadLetter(ids: number[], reason: string, now: number): Promise<void>;
  /** Stores copies of spans as dead letters with a reason (a collector's partial rejection). */
  recordDeadLetters(spans: SpanRecord[], reason: string, now: number): Promise<void>;
  expireOutbox(createdBefore: number): Promise<number>;
  listDeadLetters(limit: number): Promise<DeadLetterRow[]>;
  countDeadLetters(): Promise<number>;
  /** Moves dead letters (all, or the given ids) back to the outbox; returns how many. */
  replayDeadLetters(ids?: number[]): Promise<number>;

  /** Deletes idempotency answers stored before `before`, at most `limit` of them (default: all); returns how many. */
  purgeIdempotency(before: number, limit?: number): Promise<number>;
  /**
   * Deletes at most `limit` ended runs whose last activity is before `endedBefore`, with their stored
   * root-span events; returns how many runs. Running runs, outbox rows and dead letters stay.
   */
  deleteEndedRuns(endedBefore: number, limit: number): Promise<number>;

  putApiKey(key: ApiKeyRecord): Promise<void>;
  listApiKeys(): Promise<ApiKeyRecord[]>;
  revokeApiKey(id: string, now: number): Promise<boolean>;
}

export function encodeCursor(sortValue: number, runId: string): string {
  return Buffer.from(JSON.stringify([sortValue, runId])).toString('base64url');
}

export function decodeCursor(cursor: string): [number, string] | undefined {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && typeof v[0] === 'number' && typeof v[1] === 'string') return [v[0], v[1]];
  } catch {
    /* fall through */
  }
  return undefined;
}

/** Serialises async critical sections (one writer at a time for the embedded stores). */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/** The indexed columns of a run plus its JSON document, as the SQL stores write them. */
export function runColumns(run: RunRecord) {
  return { ...indexedColumns(run), doc: JSON.stringify(run) };
}

/** The columns the SQL stores keep beside a run's document. */
export function indexedColumns(run: RunRecord) {
  return {
    run_id: run.run_id,
    project_key: run.project_key,
    agent_id: run.agent_id,
    status: run.status,
    started_at: run.started_at,
    last_activity_at: run.last_activity_at,
    cost_usd: run.totals.cost_usd,
    parent_run_id: run.parent_run_id,
    input_tokens: run.totals.input_tokens,
    output_tokens: run.totals.output_tokens,
    total_tokens: run.totals.total_tokens,
    llm_calls: run.totals.llm_calls,
    failures: run.failures,
    agent: agentOf(run),
    model: modelOf(run),
    last_failure_at: lastFailureAt(run),
  };
}
