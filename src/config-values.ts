import { z } from 'zod';
import { parseDuration } from './duration.js';

/** The formats of the bridge's environment variables, each a zod schema that names what it expected (used by loadConfig). */

/** A bare number is refused rather than read as milliseconds: `30` meant 30 s far more often than 30 ms. */
const hasNoUnit = (text: string) => /^\s*\d+(\.\d+)?\s*$/.test(text);
const noUnitMessage = (text: string) => `"${text.trim()}" has no unit; write it with one, e.g. ${text.trim()}s (units: ms, s, m, h, d)`;

export const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      if (hasNoUnit(text)) {
        ctx.addIssue({ code: 'custom', message: noUnitMessage(text) });
        return z.NEVER;
      }
      const ms = parseDuration(text);
      if (ms === undefined || ms <= 0) {
        ctx.addIssue({ code: 'custom', message: `expected a duration like 500ms, 30s, 15m, 24h or 7d, got "${text}"` });
        return z.NEVER;
      }
      return ms;
    });

/** A duration, or `off` / `0` for none (null). */
export const durationOrOff = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      if (text.trim() === 'off' || text.trim() === '0') return null;
      if (hasNoUnit(text)) {
        ctx.addIssue({ code: 'custom', message: noUnitMessage(text) });
        return z.NEVER;
      }
      const ms = parseDuration(text);
      if (ms === undefined || ms <= 0) {
        ctx.addIssue({ code: 'custom', message: `expected a duration like 12h, 7d or 30d, or off (keep forever), got "${text}"` });
        return z.NEVER;
      }
      return ms;
    });

export const int = (fallback: number, min: number, max: number) =>
  z
    .string()
    .default(String(fallback))
    .transform((text, ctx) => {
      const n = Number(text);
      if (!Number.isSafeInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `expected an integer from ${min} to ${max}, got "${text}"` });
        return z.NEVER;
      }
      return n;
    });

export const bool = (fallback: boolean) =>
  z
    .string()
    .default(String(fallback))
    .transform((text, ctx) => {
      const t = text.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(t)) return true;
      if (['false', '0', 'no', 'off'].includes(t)) return false;
      ctx.addIssue({ code: 'custom', message: `expected true or false, got "${text}"` });
      return z.NEVER;
    });

const READ_ONLY = 'read:';

/** `KEY=[read:]PROJECT[,PROJECT…]` entries separated by `;`; `read:` makes the key read-only. */
export const apiKeys = z
  .string()
  .default('')
  .transform((text, ctx) => {
    const keys: { key: string; projects: string[]; readOnly: boolean }[] = [];
    /** entry number (1-based) of each key seen; a key twice is a mistake (which projects would it get?) */
    const seen = new Map<string, number>();
    for (const entry of text
      .split(';')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const eq = entry.lastIndexOf('=');
      const key = entry.slice(0, eq).trim();
      let scope = entry.slice(eq + 1).trim();
      const readOnly = scope.startsWith(READ_ONLY);
      if (readOnly) scope = scope.slice(READ_ONLY.length);
      const projects = scope
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (eq <= 0 || projects.length === 0 || key.length < 8) {
        ctx.addIssue({
          code: 'custom',
          message: `expected KEY=[read:]PROJECT[,PROJECT…] with a key of at least 8 characters, got an entry "${entry.slice(0, 4)}…"`,
        });
        return z.NEVER;
      }
      const first = seen.get(key);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `the same key appears twice (entries ${first} and ${keys.length + 1}); give each key one entry listing all its projects`,
        });
        return z.NEVER;
      }
      seen.set(key, keys.length + 1);
      keys.push({ key, projects, readOnly });
    }
    return keys;
  });

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * OTEL_EXPORTER_OTLP_HEADERS: `name=value` pairs separated by commas, values URL-encoded (the
 * OpenTelemetry specification's format). Errors never echo a value: it is usually a credential.
 */
export const otlpHeaders = z
  .string()
  .optional()
  .transform((text, ctx) => {
    const out: Record<string, string> = {};
    if (text === undefined) return undefined;
    for (const [i, pair] of text
      .split(',')
      .map((s) => s.trim())
      .entries()) {
      if (!pair) continue;
      const eq = pair.indexOf('=');
      const name = eq > 0 ? pair.slice(0, eq).trim() : '';
      let value: string | undefined;
      try {
        value = decodeURIComponent(pair.slice(eq + 1).trim());
      } catch {
        value = undefined;
      }
      if (!HEADER_NAME.test(name) || value === undefined || /[\r\n]/.test(value)) {
        ctx.addIssue({
          code: 'custom',
          message: `expected comma-separated name=value pairs with URL-encoded values; entry ${i + 1} ${name ? `("${name.slice(0, 40)}=…") ` : ''}is not one`,
        });
        return z.NEVER;
      }
      out[name.toLowerCase()] = value;
    }
    return out;
  });

/** OTEL_EXPORTER_OTLP_TIMEOUT: milliseconds, as the specification defines it. */
export const otlpTimeout = z
  .string()
  .optional()
  .transform((text, ctx) => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < 1 || n > 600_000) {
      ctx.addIssue({ code: 'custom', message: `expected milliseconds, an integer from 1 to 600000, got "${text}"` });
      return z.NEVER;
    }
    return n;
  });

/** `PROJECT=USD[;PROJECT=USD…]`. */
export const budgets = z
  .string()
  .default('')
  .transform((text, ctx) => {
    const out: Record<string, number> = {};
    for (const entry of text
      .split(';')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const [project, usd] = entry.split('=').map((s) => s.trim());
      const n = Number(usd);
      if (!project || usd === undefined || !Number.isFinite(n) || n < 0) {
        ctx.addIssue({ code: 'custom', message: `expected PROJECT=USD with a non-negative number, got "${entry}"` });
        return z.NEVER;
      }
      out[project] = n;
    }
    return out;
  });

/**
 * OTEL_EXPORTER_OTLP_*ENDPOINT: an absolute http:// or https:// URL. `localhost:4318` parses as a
 * URL with the scheme `localhost:`, which no exporter can send to: it is refused here, at start.
 */
export const otlpEndpoint = z
  .string()
  .refine((text) => URL.canParse(text) && /^https?:$/.test(new URL(text).protocol) && new URL(text).host !== '', {
    error: (issue) => `expected an http:// or https:// URL such as http://localhost:4318, got "${String(issue.input)}"`,
  });

/** OTEL_EXPORTER_OTLP_*PROTOCOL: the bridge speaks OTLP/HTTP only, in either encoding. */
export const otlpProtocol = z
  .enum(['http/protobuf', 'http/json'], {
    error: (issue) => `expected http/protobuf or http/json (OTLP over gRPC is not spoken), got "${String(issue.input)}"`,
  })
  .optional();
