/**
 * Why a baseline is slower than it could be: the bare express app of bench/baseline-server.mjs
 * started in several ways, each loaded like the bench's baseline (autocannon in its own process),
 * rounds alternating. Prints requests/s, p99 and the app's CPU per request for each.
 *   node --import tsx bench/baseline-variants.ts [durationS=5] [rounds=2]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { LoadResult, LoadSpec } from './load-worker.js';
import { BENCH_DIR, runJson } from './proc.js';
import { reportArgs, newRunIds } from './workload.js';

interface Variant {
  name: string;
  loader: boolean;
  nodeEnv?: string;
  connections: number;
}

const VARIANTS: Variant[] = [
  { name: 'tsx loader, NODE_ENV unset, 32 connections (the earlier baseline)', loader: true, connections: 32 },
  { name: 'plain node, NODE_ENV unset, 32 connections', loader: false, connections: 32 },
  { name: 'plain node, NODE_ENV=production, 32 connections (the baseline now)', loader: false, nodeEnv: 'production', connections: 32 },
  { name: 'plain node, NODE_ENV=production, 8 connections', loader: false, nodeEnv: 'production', connections: 8 },
  { name: 'plain node, NODE_ENV=production, 100 connections', loader: false, nodeEnv: 'production', connections: 100 },
];

function start(v: Variant): Promise<{ url: string; child: ChildProcess }> {
  const env = { ...process.env };
  delete env.NODE_ENV;
  if (v.nodeEnv) env.NODE_ENV = v.nodeEnv;
  const args = [...(v.loader ? ['--import', 'tsx'] : []), join(BENCH_DIR, 'baseline-server.mjs')];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout!.once('data', (c: Buffer) => resolve({ url: c.toString().trim(), child }));
    child.once('exit', (code) => reject(new Error(`baseline exited with ${code}`)));
  });
}

const durationS = Number(process.argv[2] ?? 5);
const rounds = Number(process.argv[3] ?? 2);
const bodies = newRunIds(32).map((id) => JSON.stringify(reportArgs(id)));
const results = new Map<string, LoadResult[]>(VARIANTS.map((v) => [v.name, []]));
for (let round = 0; round < rounds; round++) {
  for (const v of VARIANTS) {
    const { url, child } = await start(v);
    try {
      const spec: LoadSpec = {
        url: `${url}/v1/tools/core_report_usage`,
        connections: v.connections,
        durationS,
        warmupS: 1,
        bodies,
        serverPid: child.pid,
      };
      results.get(v.name)!.push(await runJson<LoadResult>('load-worker.ts', spec, (durationS + 30) * 1000));
    } finally {
      child.kill('SIGKILL');
    }
  }
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
process.stdout.write(`| variant | req/s | p99 ms | app CPU µs/request | load generator, share of a core |\n|---|---|---|---|---|\n`);
for (const v of VARIANTS) {
  const rs = results.get(v.name)!;
  process.stdout.write(
    `| ${v.name} | ${mean(rs.map((r) => r.rps)).toFixed(0)} | ${mean(rs.map((r) => r.p99)).toFixed(1)} | ${mean(rs.map((r) => r.cpuUsPerCall ?? 0)).toFixed(0)} | ${mean(rs.map((r) => r.loaderCoreShare)).toFixed(2)} |\n`,
  );
}
