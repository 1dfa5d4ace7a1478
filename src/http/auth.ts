import type { NextFunction, Request, Response } from 'express';
import type { KeyRing, Principal } from '../auth/api-keys.js';
import { BridgeError } from '../errors.js';
import type { RateLimiter } from './rate-limit.js';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

export function bearerOf(header: string | undefined): string | undefined {
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return m ? m[1] : undefined;
}

/**
 * Once any key exists, every call needs `Authorization: Bearer <key>`; the key's projects
 * scope what the call may see. Without keys the bridge is open (and bound to loopback only):
 * the answer is then undefined. Throws 401 or 429 BridgeErrors.
 */
export async function authorize(
  keys: KeyRing,
  limiter: RateLimiter,
  presented: string | undefined,
  address: string | undefined,
  authorizationHeader?: string,
): Promise<Principal | undefined> {
  if (!(await keys.enabled())) {
    const wait = limiter.take('anonymous');
    if (wait > 0) throw new BridgeError('rate_limited', 'rate limit exceeded (BRIDGE_RATE_LIMIT)', undefined, wait);
    return undefined;
  }
  if (!presented) throw new BridgeError('unauthorized', missingKeyMessage(authorizationHeader));
  const principal = await keys.authenticate(presented, address ?? 'unknown');
  if (!principal) throw new BridgeError('unauthorized', 'unknown or revoked API key');
  const wait = limiter.take(principal.keyId);
  if (wait > 0) throw new BridgeError('rate_limited', 'rate limit exceeded for this API key (BRIDGE_RATE_LIMIT)', undefined, wait);
  return principal;
}

/** Why no key was read from the Authorization header: none sent, no scheme, or another scheme. */
export function missingKeyMessage(header: string | undefined): string {
  const sent = header?.trim();
  if (!sent) return 'missing API key: send Authorization: Bearer <key>';
  const words = sent.split(/\s+/);
  if (words.length === 1)
    return 'the Authorization header has no scheme: send Authorization: Bearer <key> (the word Bearer, a space, then the key)';
  // nothing sent is echoed: a value in the wrong place may well be a key
  if (!/^Bearer$/i.test(words[0])) return 'the Authorization scheme is not Bearer: send Authorization: Bearer <key>';
  return 'the Authorization header is not "Bearer <key>": send Authorization: Bearer <key> (one key, no spaces in it)';
}

/** express middleware around authorize(): sets req.principal. */
export function authenticate(keys: KeyRing, limiter: RateLimiter) {
  return async (req: Request, _res: Response, next: NextFunction) => {
    try {
      const header = req.get('authorization');
      req.principal = await authorize(keys, limiter, bearerOf(header) ?? cookieKey(req), req.socket.remoteAddress, header);
      next();
    } catch (err) {
      next(err);
    }
  };
}

/** The live page keeps a key in a cookie; it is honoured for reads only (GET), never for tool calls. */
function cookieKey(req: Request): string | undefined {
  if (req.method !== 'GET') return undefined;
  const m = /(?:^|;\s*)oprelay_key=([^;]+)/.exec(req.get('cookie') ?? '');
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return undefined; // a malformed cookie is no key (401), not a crash (500)
  }
}

export function requireWildcard(req: Request): void {
  if (req.principal && !req.principal.projects.includes('*'))
    throw new BridgeError('forbidden', 'this endpoint needs an API key scoped to all projects (*); a read-only one is enough');
}
