import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../test/support/bridge-process.js';

export const BENCH_DIR = join(ROOT, 'bench');

/** Runs `node --import tsx bench/<script> <json>` and returns the JSON line it prints last. */
export function runJson<T>(script: string, arg: unknown, timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(BENCH_DIR, script), JSON.stringify(arg)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      try {
        if (code !== 0) throw new Error(`exit ${code}`);
        resolve(JSON.parse(last) as T);
      } catch (e) {
        reject(new Error(`${script} failed (${String(e)}):\n${err.slice(-2000)}\n${out.slice(-500)}`));
      }
    });
  });
}

/**
 * Spawns a long-running bench script that prints its URL on its first line. A `.mjs` script runs
 * on `node` alone (no TypeScript loader) with NODE_ENV=production, as a deployed app would.
 */
export function startServer(script: string, args: string[] = []): Promise<{ url: string; child: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const plain = script.endsWith('.mjs');
    const child = spawn(process.execPath, [...(plain ? [] : ['--import', 'tsx']), join(BENCH_DIR, script), ...args], {
      cwd: ROOT,
      env: plain ? { ...process.env, NODE_ENV: 'production' } : process.env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout!.once('data', (c: Buffer) => resolve({ url: c.toString().trim().split('\n')[0], child }));
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

/** Resident set size of a process, KiB (VmRSS). */
export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))];
}

/** Sends n calls from this process with a given concurrency (small warm-ups, not measurements). */
export async function callMany(url: string, n: number, concurrency: number, body: (i: number) => unknown): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body(i)) });
      if (r.status !== 200) throw new Error(`${url} answered ${r.status}: ${await r.text()}`);
      await r.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
