import type { AttrValue, Attributes } from './span-record.js';

/**
 * Flattens an open object into attributes under `prefix`: nested objects become dotted keys up to
 * maxDepth levels, deeper objects and all arrays become JSON strings, nulls are skipped.
 */
export function flattenInto(out: Attributes, prefix: string, value: Record<string, unknown>, maxDepth = 4, depth = 1): void {
  for (const [key, v] of Object.entries(value)) {
    const name = prefix + key;
    if (v === null || v === undefined) continue;
    if (typeof v === 'string' || typeof v === 'boolean') out[name] = v;
    else if (typeof v === 'number') out[name] = Number.isFinite(v) ? v : String(v);
    else if (Array.isArray(v)) out[name] = JSON.stringify(v);
    else if (typeof v === 'object') {
      if (depth < maxDepth) flattenInto(out, `${name}.`, v as Record<string, unknown>, maxDepth, depth + 1);
      else out[name] = JSON.stringify(v);
    } else out[name] = String(v as AttrValue);
  }
}
