/**
 * Writes clients/python/src/oprelay_bridge/tool_types.py: TypedDicts for every tool's arguments and
 * result, and for GET /v1/runs/{run_id}, generated from the same JSON Schemas that MCP clients get
 * (tools/list), so the Python client's types cannot drift from the zod schemas.
 *
 *   node --import tsx scripts/generate-python-types.ts          write the module
 *   node --import tsx scripts/generate-python-types.ts --check  exit 1 when the committed module is stale
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { TOOL_CATALOG } from '../src/mcp/tool-catalog.js';
import { runViewSchema } from '../src/tools/results.js';
import { LIMITS } from '../src/tools/limits.js';

export const PYTHON_TYPES_PATH = fileURLToPath(new URL('../clients/python/src/oprelay_bridge/tool_types.py', import.meta.url));

interface JsonSchema {
  type?: string | string[];
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: (string | number | boolean)[];
  const?: string | number | boolean | null;
  maxLength?: number;
  minLength?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
}

/** Names for nested object types, by the property that holds them; others get Parent + Property. */
const NESTED_NAMES: Record<string, string> = {
  token_usage: 'TokenUsage',
  traces: 'TraceEntry',
  totals: 'Totals',
  totals_with_children: 'Totals',
};
const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

const pascal = (name: string) => name.replace(/(^|_)([a-z])/g, (_m, _sep: string, c: string) => c.toUpperCase());

function pyLiteral(value: string | number | boolean | null): string {
  if (value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return JSON.stringify(value);
}

/** Constraints a reader of the Python type would otherwise only learn from a 400. */
function constraints(s: JsonSchema): string[] {
  const out: string[] = [];
  if (s.pattern === UUID_PATTERN) out.push('UUID');
  const said = (limit: number) => s.description?.includes(`max ${limit}`) ?? false;
  if (s.minLength !== undefined && s.maxLength !== undefined) out.push(`${s.minLength} to ${s.maxLength} characters`);
  else if (s.maxLength !== undefined && !said(s.maxLength)) out.push(`at most ${s.maxLength} characters`);
  if (s.maxItems !== undefined && !said(s.maxItems)) out.push(`at most ${s.maxItems} entries`);
  if (s.anyOf?.some((m) => m.format === 'date-time')) out.push('ISO 8601 date-time or epoch milliseconds');
  return out;
}

class PythonTypesWriter {
  private readonly blocks: string[] = [];
  /** canonical JSON of an emitted object schema → its class name, so equal shapes share one class */
  private readonly emitted = new Map<string, string>();
  private readonly names = new Set<string>();

  constructor(private readonly direction: 'input' | 'output') {}

  /** Emits a TypedDict for an object schema (nested ones first) and returns its name. */
  typedDict(name: string, schema: JsonSchema, doc: string): string {
    const { description: _description, ...shape } = schema;
    const key = JSON.stringify(shape);
    const existing = this.emitted.get(key);
    if (existing) return existing;
    let unique = name;
    for (let n = 2; this.names.has(unique); n++) unique = `${name}${n}`;
    this.names.add(unique);
    this.emitted.set(key, unique);

    const required = new Set(schema.required ?? []);
    const fields = Object.entries(schema.properties ?? {}).map(([prop, s]) => {
      const notes = [s.description, ...constraints(s)].filter(Boolean).join('; ');
      return { prop, type: this.typeOf(s, unique, prop), required: required.has(prop), notes };
    });
    const line = (f: (typeof fields)[number]) => [...(f.notes ? [`    #: ${f.notes}`] : []), `    ${f.prop}: ${f.type}`];
    const requiredFields = fields.filter((f) => f.required);
    const optionalFields = fields.filter((f) => !f.required);
    const open = schema.additionalProperties !== false && this.direction === 'input';
    const docLines = [`    """${doc}${open ? ' Unknown fields are kept by the bridge.' : ''}"""`, ''];
    // Required / NotRequired need Python 3.11; a required base class plus a total=False subclass works on 3.10.
    if (requiredFields.length > 0 && optionalFields.length > 0) {
      this.blocks.push([`class _${unique}Required(TypedDict):`, ...requiredFields.flatMap(line)].join('\n'));
      this.blocks.push([`class ${unique}(_${unique}Required, total=False):`, ...docLines, ...optionalFields.flatMap(line)].join('\n'));
    } else if (requiredFields.length > 0) {
      this.blocks.push([`class ${unique}(TypedDict):`, ...docLines, ...requiredFields.flatMap(line)].join('\n'));
    } else {
      this.blocks.push([`class ${unique}(TypedDict, total=False):`, ...docLines, ...optionalFields.flatMap(line)].join('\n'));
    }
    return unique;
  }

  private typeOf(s: JsonSchema, parent: string, prop: string, doc = `The \`${prop}\` object.`): string {
    if (s.const !== undefined) return `Literal[${pyLiteral(s.const)}]`;
    if (s.enum) return `Literal[${s.enum.map(pyLiteral).join(', ')}]`;
    if (s.anyOf) return [...new Set(s.anyOf.map((m) => this.typeOf(m, parent, prop)))].join(' | ');
    if (Array.isArray(s.type)) return s.type.map((t) => this.typeOf({ ...s, type: t }, parent, prop)).join(' | ');
    switch (s.type) {
      case 'string':
        return 'str';
      case 'integer':
        return 'int';
      case 'number':
        return 'float';
      case 'boolean':
        return 'bool';
      case 'null':
        return 'None';
      case 'array': {
        const item = s.items ? this.typeOf(s.items, parent, prop, `An entry of \`${prop}\`.`) : 'object';
        return this.direction === 'input' ? `Sequence[${item}]` : `list[${item}]`;
      }
      case 'object': {
        if (!s.properties) return this.direction === 'input' ? 'Mapping[str, object]' : 'dict[str, object]';
        const name = this.typedDict(NESTED_NAMES[prop] ?? `${parent}${pascal(prop)}`, s, doc);
        // an open object with known fields: typed when it fits, any mapping when it carries extra fields
        return s.additionalProperties !== false && this.direction === 'input' ? `${name} | Mapping[str, object]` : name;
      }
      default:
        return 'object';
    }
  }

  render(): string {
    return this.blocks.join('\n\n\n');
  }
}

function pythonConstants(): string {
  const names: Record<string, keyof typeof LIMITS> = {
    SUMMARY_MAX_CHARS: 'summary',
    ERROR_MAX_CHARS: 'error',
    NAME_MAX_CHARS: 'name',
    TRACES_MAX_ENTRIES: 'traces',
    OPEN_OBJECT_MAX_BYTES: 'openObjectBytes',
    OPEN_OBJECT_MAX_DEPTH: 'openObjectDepth',
  };
  return Object.entries(names)
    .map(([py, ts]) => `${py}: Final = ${LIMITS[ts]}`)
    .join('\n');
}

/** The whole generated module, deterministic for a given set of schemas. */
export function renderPythonTypes(): string {
  const inputs = new PythonTypesWriter('input');
  const outputs = new PythonTypesWriter('output');
  for (const tool of TOOL_CATALOG) {
    inputs.typedDict(
      `${pascal(tool.name)}Args`,
      tool.inputSchema as JsonSchema,
      `Arguments of \`${tool.name}\`: ${tool.description ?? ''}`,
    );
    if (tool.outputSchema)
      outputs.typedDict(`${pascal(tool.name)}Result`, tool.outputSchema as JsonSchema, `What \`${tool.name}\` answers.`);
  }
  const runView = z.toJSONSchema(runViewSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  outputs.typedDict('RunView', runView, 'What GET /v1/runs/{run_id} answers.');

  const toolNames = TOOL_CATALOG.map((t) => t.name);
  return [
    "# Generated by scripts/generate-python-types.ts from the bridge's tool schemas (the JSON Schemas",
    '# that MCP clients see). Do not edit: run `npm run generate:python-types` after changing a schema.',
    '# ruff: noqa: E501',
    '"""Typed arguments and results of the bridge\'s tools."""',
    '',
    'from __future__ import annotations',
    '',
    'from collections.abc import Mapping, Sequence',
    'from typing import Final, Literal, TypedDict',
    '',
    `ToolName = Literal[${toolNames.map(pyLiteral).join(', ')}]`,
    `TOOL_NAMES: Final[tuple[ToolName, ...]] = (${toolNames.map(pyLiteral).join(', ')})`,
    '',
    '# Limits the bridge enforces (it answers 400 invalid_argument past them).',
    pythonConstants(),
    '',
    '',
    inputs.render(),
    '',
    '',
    outputs.render(),
    '',
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const fresh = renderPythonTypes();
  if (process.argv.includes('--check')) {
    const committed = readFileSync(PYTHON_TYPES_PATH, 'utf8');
    if (committed !== fresh) {
      console.error(`${PYTHON_TYPES_PATH} is stale: run npm run generate:python-types`);
      process.exit(1);
    }
  } else {
    writeFileSync(PYTHON_TYPES_PATH, fresh);
    console.log(`wrote ${PYTHON_TYPES_PATH}`);
  }
}
