/**
 * Runs one autocannon load in its own process (so the load generator never shares a core's event
 * loop with what it measures) and prints the summary as one JSON line.
 * argv[2]: JSON LoadSpec. Bodies rotate per request, which spreads calls over several runs.
 * The warm-up is a load of its own; CPU time is read around the measured load only.
 */
import autocannon from 'autocannon';
import { cpuMs, cpuMsByName, cpuMsSince, machineBusyMs } from './cpu.js';

export interface LoadSpec {
  url: string;
  connections: number;
  durationS: number;
  warmupS: number;
  bodies: string[];
  headers?: Record<string, string>;
  /** the server's process id: its CPU time (every thread) per request is measured */
  serverPid?: number;
  /** also measure the CPU of this machine's PostgreSQL server processes per request */
  postgres?: boolean;
}

export interface LoadResult {
  rps: number;
  total: number;
  p50: number;
  p99: number;
  mean: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** server CPU (user + system, all threads) per request, µs; null without serverPid */
  cpuUsPerCall: number | null;
  /** the load generator's own CPU over the load, as a share of one core (near 1: it is the bottleneck) */
  loaderCoreShare: number;
  /** CPU per request, µs, of the whole machine (every core, every process), of the load generator, and of the PostgreSQL server (when asked) */
  machineUsPerCall?: number;
  loaderUsPerCall?: number;
  postgresUsPerCall?: number;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
let next = 0;
const options = (durationS: number) => ({
  url: spec.url,
  connections: spec.connections,
  duration: durationS,
  pipelining: 1,
  method: 'POST' as const,
  headers: { 'content-type': 'application/json', ...spec.headers },
  body: spec.bodies[0],
  requests: [
    {
      method: 'POST' as const,
      setupRequest: (req: { body?: string }) => {
        req.body = spec.bodies[next++ % spec.bodies.length];
        return req;
      },
    },
  ],
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const run = (durationS: number) => autocannon(options(durationS) as any) as Promise<any>;
if (spec.warmupS > 0) await run(spec.warmupS);
const serverBefore = spec.serverPid ? cpuMs(spec.serverPid) : 0;
const selfBefore = process.cpuUsage();
const machineBefore = machineBusyMs();
const postgresBefore = spec.postgres ? cpuMsByName('postgres') : undefined;
const t0 = performance.now();
const r = await run(spec.durationS);
const wallMs = performance.now() - t0;
const self = process.cpuUsage(selfBefore);
const serverMs = spec.serverPid ? cpuMs(spec.serverPid) - serverBefore : 0;
const machineMs = machineBusyMs() - machineBefore;
const postgresMs = postgresBefore ? cpuMsSince(postgresBefore, cpuMsByName('postgres')) : undefined;
const perCall = (ms: number) => (r.requests.total > 0 ? (ms * 1000) / r.requests.total : 0);
const out: LoadResult = {
  rps: r.requests.average,
  total: r.requests.total,
  p50: r.latency.p50,
  p99: r.latency.p99,
  mean: r.latency.average,
  non2xx: r.non2xx,
  errors: r.errors,
  timeouts: r.timeouts,
  cpuUsPerCall: spec.serverPid && r.requests.total > 0 ? perCall(serverMs) : null,
  loaderCoreShare: (self.user + self.system) / 1000 / wallMs,
  machineUsPerCall: perCall(machineMs),
  loaderUsPerCall: perCall((self.user + self.system) / 1000),
  ...(postgresMs !== undefined ? { postgresUsPerCall: perCall(postgresMs) } : {}),
};
process.stdout.write(`${JSON.stringify(out)}\n`);
