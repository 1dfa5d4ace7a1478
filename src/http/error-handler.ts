import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { BridgeError } from '../errors.js';
import type { Logger } from '../log.js';

interface BodyParserError extends Error {
  type?: string;
  status?: number;
  limit?: number;
}

/**
 * Turns body-parser failures into domain errors naming what was wrong. The tool route reads its
 * body itself; body-parser runs only for the live page's key form (`express.urlencoded`), whose
 * errors carry their own limit.
 */
function fromBodyParser(err: BodyParserError): BridgeError | undefined {
  switch (err.type) {
    case 'entity.too.large': {
      const limit = err.limit;
      return new BridgeError('payload_too_large', limit === undefined ? 'body: too large' : `body: must be at most ${limit} bytes`, [
        { path: 'body', message: 'body too large', ...(limit === undefined ? {} : { limit }) },
      ]);
    }
    case 'parameters.too.many':
      return new BridgeError('payload_too_large', 'body: too many form fields', [{ path: 'body', message: 'too many form fields' }]);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new BridgeError('unsupported_media_type', `body: ${err.message}`);
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new BridgeError('invalid_argument', `body: ${err.message}`);
    default:
      return undefined;
  }
}

/**
 * The one place where errors become HTTP responses, for express routes and the tool-call route
 * alike. A 401 carries `WWW-Authenticate: Bearer` (RFC 6750).
 */
export function writeError(res: ServerResponse, err: unknown, log: Logger, path: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const known = err instanceof BridgeError ? err : fromBodyParser(err as BodyParserError);
  if (known) {
    const headers: Record<string, string> = {};
    if (known.retryAfter !== undefined) headers['Retry-After'] = String(known.retryAfter);
    if (known.status === 401) headers['WWW-Authenticate'] = 'Bearer';
    writeJson(res, known.status, known.toBody(), headers);
    return;
  }
  const correlationId = randomUUID();
  log.error('internal error', {
    correlation_id: correlationId,
    path,
    error: err instanceof Error ? (err.stack ?? err.message) : String(err),
  });
  writeJson(res, 500, {
    error: { code: 'internal', message: `internal error (correlation id ${correlationId})`, correlation_id: correlationId },
  });
}

/** A JSON answer written straight to node:http. */
export function writeJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function errorHandler(log: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => writeError(res, err, log, req.path);
}
