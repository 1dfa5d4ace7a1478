#!/usr/bin/env node
// Compiles the client workspace and src/ into their dist/ folders only when one is missing or
// older than its sources, so `npm start`
// starts in a moment once `npm ci` (its `prepare` step) has built it. Without sources or
// TypeScript (an install of production dependencies only) there is nothing to build here.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
/** What to build, in order: the client workspace first (the bridge imports its types), then the bridge. */
const targets = [
  {
    name: 'packages/client/dist/',
    output: join(root, 'packages', 'client', 'dist', 'index.js'),
    inputs: [join(root, 'packages', 'client', 'src'), join(root, 'packages', 'client', 'tsconfig.json')],
    project: join(root, 'packages', 'client', 'tsconfig.json'),
  },
  {
    name: 'dist/',
    output: join(root, 'dist', 'cli.js'),
    inputs: [join(root, 'src'), join(root, 'tsconfig.json'), join(root, 'tsconfig.build.json')],
    project: join(root, 'tsconfig.build.json'),
  },
];

/** Newest modification time under a file or directory. */
function newest(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let max = s.mtimeMs;
  for (const name of readdirSync(path)) max = Math.max(max, newest(join(path, name)));
  return max;
}

let tsc;
let rebuilt = false;
for (const target of targets) {
  if (!target.inputs.every((p) => existsSync(p))) continue;
  const builtAt = existsSync(target.output) ? statSync(target.output).mtimeMs : -Infinity;
  // a rebuilt client can change the types the bridge compiles against
  if (!rebuilt && target.inputs.every((p) => newest(p) <= builtAt)) continue;
  try {
    tsc ??= createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
  } catch {
    console.error(
      `${target.name} is missing or older than its sources, and TypeScript is not installed: run npm ci (with dev dependencies) first`,
    );
    process.exit(1);
  }
  console.error(`building ${target.name} (it is missing or older than its sources)`);
  const result = spawnSync(process.execPath, [tsc, '-p', target.project], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
  rebuilt = true;
}
