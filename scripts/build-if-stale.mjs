#!/usr/bin/env node
// Compiles src/ into dist/ only when dist/ is missing or older than a source file, so `npm start`
// starts in a moment once `npm ci` (its `prepare` step) has built it. Without sources or
// TypeScript (an install of production dependencies only) there is nothing to build here.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const output = join(root, 'dist', 'cli.js');
const inputs = [join(root, 'src'), join(root, 'tsconfig.json'), join(root, 'tsconfig.build.json')];

/** Newest modification time under a file or directory. */
function newest(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let max = s.mtimeMs;
  for (const name of readdirSync(path)) max = Math.max(max, newest(join(path, name)));
  return max;
}

if (!inputs.every((p) => existsSync(p))) process.exit(0);
const builtAt = existsSync(output) ? statSync(output).mtimeMs : -Infinity;
if (newest(inputs[0]) <= builtAt && newest(inputs[1]) <= builtAt && newest(inputs[2]) <= builtAt) process.exit(0);

let tsc;
try {
  tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
} catch {
  console.error('dist/ is missing or older than src/, and TypeScript is not installed: run npm ci (with dev dependencies) first');
  process.exit(1);
}
console.error('building dist/ from src/ (it is missing or older than the sources)');
const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
process.exit(result.status ?? 1);
