import type pg from 'pg';

/** Two-int advisory lock namespace for per-run locks (the one-bigint key space, used by init, is disjoint). */
export const RUN_LOCK_SPACE = 0x6f70726c; // "oprl"

/** Statement texts given a name so far, shared by every connection of the process. */
const names = new Map<string, string>();
/** Bounds the prepared statements a backend keeps; later texts go unnamed. */
const MAX_NAMED = 100;

/**
 * A query config with a name for its text: each connection then parses and plans the statement once
 * (Postgres switches to a cached generic plan after five runs) instead of on every call.
 */
export function named(text: string, values?: unknown[]): pg.QueryConfig {
  let name = names.get(text);
  if (name === undefined && names.size < MAX_NAMED) {
    name = `oprl_${names.size}`;
    names.set(text, name);
  }
  return name === undefined ? { text, values } : { name, text, values };
}

type Corkable = { cork?: () => void; uncork?: () => void };

/**
 * Sends pipelined queries on a client (answers are not awaited in between) in one socket write
 * instead of a syscall — and a wake-up of the backend — each. The pool's clients are connected, so
 * client.query hands each query to the socket at once.
 */
export function sendAll(client: pg.ClientBase, queries: (string | pg.QueryConfig)[]): Promise<pg.QueryResult>[] {
  const stream = (client as unknown as { connection?: { stream?: Corkable } }).connection?.stream;
  stream?.cork?.();
  try {
    return queries.map((q) => client.query(q as pg.QueryConfig));
  } finally {
    stream?.uncork?.();
  }
}

const ELEMENT_OID = { text: 25, int4: 23, int8: 20, float8: 701, bytea: 17 } as const;
export type ElementType = keyof typeof ELEMENT_OID;

/**
 * A one-dimensional array parameter in Postgres' binary format (sent as is, as a Buffer): no quoting
 * and escaping of each element here, and no parsing of an array literal in Postgres.
 */
export function pgArray(type: ElementType, values: readonly (string | number | Uint8Array | null)[]): Buffer {
  const fixed = type === 'int4' ? 4 : type === 'float8' || type === 'int8' ? 8 : 0;
  let size = 20;
  let nulls = 0;
  for (const v of values) {
    if (v === null) nulls = 1;
    size += 4 + (v === null ? 0 : fixed || (typeof v === 'string' ? Buffer.byteLength(v) : (v as Uint8Array).length));
  }
  const buf = Buffer.allocUnsafe(size);
  buf.writeInt32BE(1, 0); // dimensions
  buf.writeInt32BE(nulls, 4);
  buf.writeInt32BE(ELEMENT_OID[type], 8);
  buf.writeInt32BE(values.length, 12);
  buf.writeInt32BE(1, 16); // lower bound
  let at = 20;
  for (const v of values) {
    if (v === null) {
      at = buf.writeInt32BE(-1, at);
    } else if (type === 'bytea') {
      const bytes = v as Uint8Array;
      at = buf.writeInt32BE(bytes.length, at);
      buf.set(bytes, at);
      at += bytes.length;
    } else if (type === 'text') {
      const len = buf.write(v as string, at + 4);
      buf.writeInt32BE(len, at);
      at += 4 + len;
    } else {
      at = buf.writeInt32BE(fixed, at);
      if (type === 'int4') at = buf.writeInt32BE(v as number, at);
      else if (type === 'int8') at = buf.writeBigInt64BE(BigInt(v as number), at);
      else at = buf.writeDoubleBE(v as number, at);
    }
  }
  return buf;
}
