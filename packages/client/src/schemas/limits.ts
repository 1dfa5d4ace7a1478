// Generated from src/tools/limits.ts by `npm run generate:client-schemas`: edit the source, not this copy.
/** The seed's limits and the bridge's own, in one place (they show up in errors and JSON Schemas). */
export const LIMITS = {
  summary: 2000,
  error: 8000,
  agent: 128,
  ticket: 64,
  promptPreview: 2000,
  traces: 200,
  name: 128,
  idempotencyKey: 128,
  openObjectBytes: 16 * 1024,
  openObjectDepth: 8,
  bodyBytes: 1024 * 1024,
} as const;
