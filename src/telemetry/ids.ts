import { createHash, randomBytes } from 'node:crypto';

/** trace_id = the run_id's 128 bits as 32 lowercase hex digits. */
export function traceIdOf(runId: string): string {
  return runId.replace(/-/g, '').toLowerCase();
}

/** The root span id, derived from the run_id so child spans can point at it before it is exported. */
export function rootSpanIdOf(runId: string): string {
  const id = createHash('sha256').update(`oprelay.root:${runId}`).digest('hex').slice(0, 16);
  return id === '0000000000000000' ? '0000000000000001' : id;
}

// span ids come from a pooled random buffer: one getrandom call per 512 ids instead of one each
const POOL_IDS = 512;
let pool = Buffer.alloc(0);
let offset = 0;

export function newSpanId(): string {
  for (;;) {
    if (offset >= pool.length) {
      pool = randomBytes(8 * POOL_IDS);
      offset = 0;
    }
    const id = pool.toString('hex', offset, offset + 8);
    offset += 8;
    if (id !== '0000000000000000') return id;
  }
}

export interface TraceParent {
  trace_id: string;
  span_id: string;
  trace_flags: number;
}

/** Parses a W3C traceparent; an invalid one is ignored (undefined), as the spec asks. */
export function parseTraceparent(value: unknown): TraceParent | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/.exec(value.trim().toLowerCase());
  if (!m || m[1] === 'ff' || (m[1] === '00' && m[5])) return undefined;
  if (/^0+$/.test(m[2]) || /^0+$/.test(m[3])) return undefined;
  return { trace_id: m[2], span_id: m[3], trace_flags: parseInt(m[4], 16) };
}

export function formatTraceparent(traceId: string, spanId: string, flags = 1): string {
  return `00-${traceId}-${spanId}-${flags.toString(16).padStart(2, '0')}`;
}
