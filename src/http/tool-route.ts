import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { KeyRing } from '../auth/api-keys.js';
import { BridgeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ToolGateway } from '../tools/gateway.js';
import { LIMITS } from '../tools/limits.js';
import { authorize, bearerOf } from './auth.js';
import { writeError, writeJson } from './error-handler.js';
import type { RateLimiter } from './rate-limit.js';

export interface ToolRouteDeps {
  gateway: ToolGateway;
  keys: KeyRing;
  limiter: RateLimiter;
  log: Logger;
}

/**
 * POST /v1/tools/{tool}, case-insensitive, an optional trailing slash and query string, as express
 * routes match; also in absolute form (`POST http://host/v1/tools/…`, as some proxies send it).
 */
const TOOL_PATH = /^(?:https?:\/\/[^/?#]*)?\/v1\/tools\/([^/?#]+)\/?(?:\?.*)?$/i;

/**
 * The tool-call route on node:http directly. It is every agent's hot path, so it skips the
 * framework's per-request work (routing, body-parser, ETag) and does only what the call needs:
 * authenticate, check the media type, read the body within its limit, validate, commit, answer.
 * Returns false for any other request, which express then serves.
 */
export function toolCallRoute(d: ToolRouteDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if (req.method !== 'POST') return false;
    const m = TOOL_PATH.exec(req.url ?? '');
    if (!m) return false;
    serve(d, req, res, m[1]).catch((err: unknown) => writeError(res, err, d.log, req.url ?? ''));
    return true;
  };
}

async function serve(d: ToolRouteDeps, req: IncomingMessage, res: ServerResponse, rawTool: string): Promise<void> {
  const h = req.headers;
  const principal = await authorize(d.keys, d.limiter, bearerOf(h.authorization), req.socket.remoteAddress, h.authorization);
  const body = await readJsonBody(req);
  const idem = h['idempotency-key'] as string | undefined;
  if (idem !== undefined && (idem.length === 0 || idem.length > LIMITS.idempotencyKey))
    throw new BridgeError('invalid_argument', `Idempotency-Key header: must be 1 to ${LIMITS.idempotencyKey} characters`, [
      { path: 'Idempotency-Key', message: 'bad length', limit: LIMITS.idempotencyKey },
    ]);
  const result = await d.gateway.call(decodeParam(rawTool), body, {
    projects: principal?.projects,
    readOnly: principal?.readOnly,
    traceparent: h.traceparent as string | undefined,
    idempotencyKey: idem,
  });
  writeJson(res, 200, { result });
}

function decodeParam(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // not a tool name either way: unknown_tool names it as sent
  }
}

const unsupported = (message: string) => new BridgeError('unsupported_media_type', `body: ${message}`);
const tooLarge = () =>
  new BridgeError('payload_too_large', `body: must be at most ${LIMITS.bodyBytes} bytes`, [
    { path: 'body', message: 'body too large', limit: LIMITS.bodyBytes },
  ]);

/** The media type, charset and encoding checks of express.json(), then the body within LIMITS.bodyBytes. */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const h = req.headers;
  const type = h['content-type'] ?? '';
  const [media, ...params] = type.split(';');
  const hasBody = h['transfer-encoding'] !== undefined || h['content-length'] !== undefined;
  if (media.trim().toLowerCase() !== 'application/json' || !hasBody)
    throw new BridgeError('unsupported_media_type', `body: Content-Type must be application/json (got ${type || 'none'})`);
  for (const p of params) {
    const [k, v = ''] = p.split('=');
    const charset = v.trim().replace(/^"|"$/g, '').toLowerCase();
    if (k.trim().toLowerCase() === 'charset' && charset !== 'utf-8' && charset !== 'utf8')
      throw unsupported(`unsupported charset "${charset.toUpperCase()}"`);
  }
  const text = await readText(req);
  if (text.length === 0) return {};
  try {
    // any JSON value parses; one that is not an object is then refused by validation, naming what it got
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new BridgeError('invalid_argument', `body: malformed JSON (${(err as Error).message})`, [
      { path: 'body', message: 'malformed JSON' },
    ]);
  }
}

function decoded(req: IncomingMessage): Readable {
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  switch (encoding) {
    case 'identity':
      return req;
    case 'gzip':
    case 'x-gzip':
      return req.pipe(createGunzip());
    case 'deflate':
      return req.pipe(createInflate());
    case 'br':
      return req.pipe(createBrotliDecompress());
    default:
      throw unsupported(`unsupported content encoding "${encoding}"`);
  }
}

/** Reads the (decoded) body as UTF-8, failing with 413 as soon as it passes the limit. */
function readText(req: IncomingMessage): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (!req.headers['content-encoding'] && declared > LIMITS.bodyBytes) return Promise.reject(tooLarge());
  const stream = decoded(req);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (err: unknown) => {
      stream.removeAllListeners('data');
      if (stream !== req) stream.destroy();
      reject(err);
    };
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > LIMITS.bodyBytes) fail(tooLarge());
      else chunks.push(chunk);
    });
    stream.once('end', () => resolve(chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8')));
    stream.once('error', (err) => fail(new BridgeError('invalid_argument', `body: ${err.message}`)));
    req.once('aborted', () => fail(new BridgeError('invalid_argument', 'body: request aborted')));
  });
}
