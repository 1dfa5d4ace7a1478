import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level, so the same arguments in another key order are the same request. */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(obj[k])}`).join(',')}}`;
}

/** SHA-256 of a call's validated arguments, kept with its idempotency key to tell a retry from a reuse. */
export function hashRequest(args: object): string {
  return createHash('sha256').update(canonical(args)).digest('base64url');
}
