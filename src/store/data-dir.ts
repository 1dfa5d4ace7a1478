import { mkdirSync, statSync } from 'node:fs';

/** A BRIDGE_DATA_DIR that cannot be a directory, with the variable named in its message. */
export class DataDirUnusable extends Error {}

/**
 * Creates BRIDGE_DATA_DIR (and its parents) unless it exists. A path that is a file, a parent that
 * is one, or a directory the bridge may not create is refused naming the variable.
 */
export function ensureDataDir(dataDir: string): void {
  let existing;
  try {
    existing = statSync(dataDir, { throwIfNoEntry: false });
    if (!existing) mkdirSync(dataDir, { recursive: true });
  } catch (err) {
    const code = (err as { code?: string }).code ?? String(err);
    throw new DataDirUnusable(
      `BRIDGE_DATA_DIR: cannot create directory ${dataDir} (${code}); point it at a directory the bridge may write`,
    );
  }
  if (existing && !existing.isDirectory())
    throw new DataDirUnusable(`BRIDGE_DATA_DIR: ${dataDir} is a file, not a directory; point it at a directory (default ./data)`);
}
