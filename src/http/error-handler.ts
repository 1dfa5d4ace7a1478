import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { BridgeError } from '../errors.js';
import type { Logger } from '../log.js';

interface BodyParserError extends Error {
  type?: string;
  status?: number;
  limit?: number;
}

/** Turns body-parser failures into domain errors naming what was wrong. */
function fromBodyParser(err: BodyParserError): BridgeError | undefined {
  switch (err.type) {
    case 'entity.too.large':
      return new BridgeError('payload_too_large', `body: must be at most ${err.limit ?? 1048576} bytes`, [
        { path: 'body', message: 'body too large', limit: err.limit ?? 1048576 },
      ]);
    case 'entity.parse.failed':
      return new BridgeError('invalid_argument', `body: malformed JSON (${err.message})`, [
        { path: 'body', message: 'malformed JSON' },
      ]);
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

/** The one place where errors become HTTP responses. */
export function errorHandler(log: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const known = err instanceof BridgeError ? err : fromBodyParser(err as BodyParserError);
    if (known) {
      if (known.retryAfter !== undefined) res.set('Retry-After', String(known.retryAfter));
      res.status(known.status).json(known.toBody());
      return;
    }
    const correlationId = randomUUID();
    log.error('internal error', {
      correlation_id: correlationId,
      path: req.path,
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
    res.status(500).json({ error: { code: 'internal', message: `internal error (correlation id ${correlationId})`, correlation_id: correlationId } });
  };
}
