/**
 * The postgres core_report_usage load alone (the `npm run bench` figure without the rest), for
 * comparing store changes quickly. Needs `npm run build` first (the bridge runs from dist/).
 *
 *   BENCH_DURATION_S=10 BENCH_ROUNDS=1 node --import tsx bench/postgres-throughput.ts
 */
import { OtlpCounter } from './otlp-counter.js';
import { CONNECTIONS, RUNS, postgresLoad } from './throughput-bench.js';

const counter = new OtlpCounter();
const env = { OTEL_EXPORTER_OTLP_ENDPOINT: await counter.listen(), BRIDGE_EXPORT_INTERVAL_MS: '1000', BRIDGE_LOG_LEVEL: 'warn' };
try {
  const options = { durationS: Number(process.env.BENCH_DURATION_S ?? 10), warmupS: 2, rounds: Number(process.env.BENCH_ROUNDS ?? 1) };
  const r = await postgresLoad(env, options, (msg) => process.stderr.write(`${msg}\n`));
  if (!r.load) throw new Error(r.skipped);
  const { rps, p50, p99, non2xx, errors } = r.load.bridge;
  console.log(
    `postgres core_report_usage, ${CONNECTIONS} connections over ${RUNS} runs: ${rps.toFixed(0)} req/s, p50 ${p50} ms, p99 ${p99} ms (non-2xx ${non2xx}, errors ${errors}); bare express ${r.load.baseline.rps.toFixed(0)} req/s (medians of ${options.rounds} rounds)`,
  );
} finally {
  await counter.close();
}
