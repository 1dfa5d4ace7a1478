/**
 * The soak's agents, in their own process: each loops start → 5 reports (3 trace entries and an
 * Idempotency-Key each) → end on its own run, over keep-alive connections, until the duration is
 * up. Prints one JSON line: per window after the warm-up, calls, p50 and p99 (ms) and failed calls
 * (the warm-up's failures counted in the first).
 * argv[2]: JSON SoakLoadSpec.
 */
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { endArgs, reportArgs, startArgs } from './workload.js';

export interface SoakLoadSpec {
  url: string;
  agents: number;
  /** calls in the first seconds (JIT, first pages of every table) are not counted */
  warmupS: number;
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
const t0 = performance.now() + spec.warmupS * 1000;
const end = t0 + spec.durationS * 1000;
let warmupFailed = 0;

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
  if (t < t0) return void (status !== 200 && warmupFailed++);
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
const out: SoakWindow[] = windows.slice(0, Math.floor(spec.durationS / spec.windowS)).map((w, i) => {
  const s = (w?.latencies ?? []).sort((a, b) => a - b);
  return { calls: s.length, p50: q(s, 0.5), p99: q(s, 0.99), failed: (w?.failed ?? 0) + (i === 0 ? warmupFailed : 0) };
});
process.stdout.write(`${JSON.stringify(out)}\n`);
