/**
 * The soak's agents, in their own process: each loops start → 5 reports (3 trace entries and an
 * Idempotency-Key each) → end on its own run, over keep-alive connections, until the duration is
 * up. Prints one JSON line: per window, calls, p50 and p99 (ms) and failed calls.
 * argv[2]: JSON SoakLoadSpec.
 */
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { endArgs, reportArgs, startArgs } from './workload.js';

export interface SoakLoadSpec {
  url: string;
  agents: number;
  durationS: number;
  windowS: number;
}

export interface SoakWindow {
  calls: number;
  p50: number;
  p99: number;
  failed: number;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as SoakLoadSpec;
const agent = new Agent({ keepAlive: true, maxSockets: spec.agents });
const { hostname, port } = new URL(spec.url);
const windows: { latencies: number[]; failed: number }[] = [];
const t0 = performance.now();
const end = t0 + spec.durationS * 1000;

function post(tool: string, args: unknown, headers: Record<string, string> = {}): Promise<number> {
  const body = JSON.stringify(args);
  return new Promise((resolve) => {
    const req = request(
      { agent, hostname, port, path: `/v1/tools/${tool}`, method: 'POST', headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

async function timed(tool: string, args: unknown, headers?: Record<string, string>): Promise<void> {
  const t = performance.now();
  const status = await post(tool, args, headers);
  const w = (windows[Math.floor((t - t0) / (spec.windowS * 1000))] ??= { latencies: [], failed: 0 });
  w.latencies.push(performance.now() - t);
  if (status !== 200) w.failed++;
}

/** core_report_usage with 3 trace entries (2 LLM calls, 1 tool call). */
function report(runId: string): Record<string, unknown> {
  const args = reportArgs(runId) as { traces: unknown[] };
  return { ...args, traces: args.traces.slice(0, 3) };
}

async function agentLoop(): Promise<void> {
  while (performance.now() < end) {
    const runId = randomUUID();
    await timed('core_start_run', startArgs(runId));
    for (let i = 0; i < 5; i++) await timed('core_report_usage', report(runId), { 'idempotency-key': randomUUID() });
    await timed('core_end_run', endArgs(runId));
  }
}

await Promise.all(Array.from({ length: spec.agents }, agentLoop));
agent.destroy();
const q = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? 0;
// the last window holds only the calls still in flight at the deadline: it is dropped
const out: SoakWindow[] = windows.slice(0, Math.floor(spec.durationS / spec.windowS)).map((w) => {
  const s = (w?.latencies ?? []).sort((a, b) => a - b);
  return { calls: s.length, p50: q(s, 0.5), p99: q(s, 0.99), failed: w?.failed ?? 0 };
});
process.stdout.write(`${JSON.stringify(out)}\n`);
