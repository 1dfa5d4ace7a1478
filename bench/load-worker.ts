/**
 * Runs one autocannon load in its own process (so the load generator never shares a core's event
 * loop with what it measures) and prints the summary as one JSON line.
 * argv[2]: JSON LoadSpec. Bodies rotate per request, which spreads calls over several runs.
 */
import autocannon from 'autocannon';

export interface LoadSpec {
  url: string;
  connections: number;
  durationS: number;
  warmupS: number;
  bodies: string[];
  headers?: Record<string, string>;
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
}

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
let next = 0;
const options = {
  url: spec.url,
  connections: spec.connections,
  duration: spec.durationS,
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
  ...(spec.warmupS > 0 ? { warmup: { connections: spec.connections, duration: spec.warmupS } } : {}),
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const r = (await autocannon(options as any)) as any;
const out: LoadResult = {
  rps: r.requests.average,
  total: r.requests.total,
  p50: r.latency.p50,
  p99: r.latency.p99,
  mean: r.latency.average,
  non2xx: r.non2xx,
  errors: r.errors,
  timeouts: r.timeouts,
};
process.stdout.write(`${JSON.stringify(out)}\n`);
