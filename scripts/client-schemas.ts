import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The light client package must not depend on the server, yet its types have to come from the
 * server's zod schemas. So the schema modules are copied verbatim into the package; the client
 * test fails when a copy differs from its source, and `npm run generate:client-schemas` rewrites them.
 */
const ROOT = new URL('../', import.meta.url).pathname;
const SOURCES = ['limits.ts', 'schemas.ts', 'results.ts'] as const;
export const CLIENT_SCHEMA_DIR = 'packages/client/src/schemas';

const header = (file: string) =>
  `// Generated from src/tools/${file} by \`npm run generate:client-schemas\`: edit the source, not this copy.\n`;

/** Each generated file's path (relative to the repository root) and the content it must have. */
export function expectedClientSchemas(): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of SOURCES) out.set(join(CLIENT_SCHEMA_DIR, file), header(file) + readFileSync(join(ROOT, 'src/tools', file), 'utf8'));
  return out;
}

export function writeClientSchemas(): string[] {
  const written: string[] = [];
  for (const [path, content] of expectedClientSchemas()) {
    writeFileSync(join(ROOT, path), content);
    written.push(path);
  }
  return written;
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  for (const path of writeClientSchemas()) console.log(`wrote ${path}`);
}
