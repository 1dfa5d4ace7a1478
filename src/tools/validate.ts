import type { z } from 'zod';
import { BridgeError, type ErrorDetail } from '../errors.js';
import { fastReportUsage } from './fast-report.js';
import { toolSchemas, type ToolArgs, type ToolName } from './schemas.js';

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = input;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function pathOf(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '');
}

const TYPE_NAMES: Record<string, string> = {
  object: 'an object',
  array: 'an array',
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
};

/** A schema's own message, or ours instead of zod's default ("Invalid input: expected array, received object"). */
function ownWords(issue: z.core.$ZodIssueInvalidType): string {
  if (!issue.message.startsWith('Invalid input')) return issue.message;
  const expected = TYPE_NAMES[issue.expected];
  return expected ? `must be ${expected}` : issue.message;
}

/** Turns zod issues into details that name the field and, where there is one, the limit. */
export function toDetails(issues: readonly z.core.$ZodIssue[], input: unknown): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  for (const issue of issues) {
    const path = pathOf(issue.path);
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) {
          const p = path ? `${path}.${key}` : key;
          details.push({ path: p, message: `${p}: unknown field` });
        }
        break;
      case 'too_big':
        details.push({ path, message: `${path || 'value'}: ${issue.message}`, limit: Number(issue.maximum) });
        break;
      case 'too_small':
        details.push({ path, message: `${path || 'value'}: ${issue.message}`, limit: Number(issue.minimum) });
        break;
      case 'invalid_type':
        details.push({
          path,
          message: valueAt(input, issue.path) === undefined ? `${path}: is required` : `${path || 'body'}: ${ownWords(issue)}`,
        });
        break;
      case 'custom': {
        const limit = (issue.params as { limit?: number } | undefined)?.limit;
        details.push({ path, message: `${path}: ${issue.message}`, ...(limit !== undefined ? { limit } : {}) });
        break;
      }
      default:
        details.push({ path, message: `${path || 'body'}: ${issue.message}` });
    }
  }
  return details;
}

export function invalidArgument(details: ErrorDetail[]): BridgeError {
  return new BridgeError('invalid_argument', `invalid argument: ${details.map((d) => d.message).join('; ')}`, details);
}

/** Validates a tool's arguments with its schema, the one path every transport uses. */
export function parseToolArgs<T extends ToolName>(tool: T, args: unknown): ToolArgs<T> {
  if (args === null || typeof args !== 'object' || Array.isArray(args)) {
    const got = args === null ? 'null' : Array.isArray(args) ? 'an array' : typeof args;
    throw invalidArgument([{ path: 'body', message: `body: must be a JSON object with the tool arguments (got ${got})` }]);
  }
  if (tool === 'core_report_usage') {
    const fast = fastReportUsage(args);
    if (fast) return fast as ToolArgs<T>;
  }
  const parsed = toolSchemas[tool].safeParse(args);
  if (!parsed.success) throw invalidArgument(toDetails(parsed.error.issues, args));
  return parsed.data as ToolArgs<T>;
}
