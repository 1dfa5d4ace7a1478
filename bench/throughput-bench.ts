import pg from 'pg';
import { BridgeProcess, tempDir } from '../test/support/bridge-process.js';
import type { LoadResult, LoadSpec } from './load-worker.js';
import { runJson, startServer } from './proc.js';
import { newRunIds, reportArgs, startArgs } from './workload.js';

export const CONNECTIONS = 32;
/** Reports are spread over this many runs (round-robin per request): many agents, not one hot row. */
export const RUNS = 32;

export interface LoadOptions {
  durationS: number;
  warmupS: number;
  /** baseline and bridge loads taken in turn this many times; each figure is the median of its rounds */
  rounds: number;
  /** connections the load generator keeps busy (CONNECTIONS unless given) */
  connections?: number;
}

/** Each field the median of the rounds' (failures summed: any failed request fails the figure). */
export function medianLoad(rounds: LoadResult[]): LoadResult {
  const median = (pick: (l: LoadResult) => number) => {
    const v = rounds.map(pick).sort((a, b) => a - b);
    const mid = v.length >> 1;
    return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  };
  const sum = (pick: (l: LoadResult) => number) => rounds.reduce((a, l) => a + pick(l), 0);
  const cpu = rounds.every((l) => l.cpuUsPerCall !== null) ? median((l) => l.cpuUsPerCall!) : null;
  const optional = (key: 'machineUsPerCall' | 'loaderUsPerCall' | 'postgresUsPerCall') =>
    rounds.every((l) => l[key] !== undefined) ? { [key]: median((l) => l[key]!) } : {};
  return {
    rps: median((l) => l.rps),
    total: sum((l) => l.total),
    p50: median((l) => l.p50),
    p99: median((l) => l.p99),
    mean: median((l) => l.mean),
    non2xx: sum((l) => l.non2xx),
    errors: sum((l) => l.errors),
    timeouts: sum((l) => l.timeouts),
    cpuUsPerCall: cpu,
    loaderCoreShare: median((l) => l.loaderCoreShare),
    ...optional('machineUsPerCall'),
    ...optional('loaderUsPerCall'),
    ...optional('postgresUsPerCall'),
  };
}

export interface Alternated {
  baseline: LoadResult;
  bridge: LoadResult;
  rounds: { baseline: LoadResult; bridge: LoadResult }[];
}

/**
 * The baseline and the bridge loaded in turn, o.rounds times (this VM drifts between minutes: one
 * load of each would compare two different machines), then the median of each.
 */
export async function alternate(o: LoadOptions, bridge: () => Promise<LoadResult>, log: (msg: string) => void): Promise<Alternated> {
  const rounds: Alternated['rounds'] = [];
  for (let i = 1; i <= o.rounds; i++) {
    log(`round ${i}/${o.rounds}: bare express 5, ${o.durationS}s`);
    const b = await baselineLoad(o);
    log(`round ${i}/${o.rounds}: bridge, ${o.durationS}s`);
    rounds.push({ baseline: b, bridge: await bridge() });
  }
  return { baseline: medianLoad(rounds.map((r) => r.baseline)), bridge: medianLoad(rounds.map((r) => r.bridge)), rounds };
}

function load(url: string, bodies: string[], o: LoadOptions, serverPid: number | undefined): Promise<LoadResult> {
  const spec: LoadSpec = {
    url,
    connections: o.connections ?? CONNECTIONS,
    durationS: o.durationS,
    warmupS: o.warmupS,
    bodies,
    serverPid,
    postgres: true,
  };
  return runJson<LoadResult>('load-worker.ts', spec, (o.durationS + o.warmupS + 30) * 1000);
}

/** The bare express 5 app (plain JavaScript on node, NODE_ENV=production), same bodies, same load. */
export async function baselineLoad(o: LoadOptions): Promise<LoadResult> {
  const { url, child } = await startServer('baseline-server.mjs');
  try {
    const bodies = newRunIds(RUNS).map((id) => JSON.stringify(reportArgs(id)));
    const result = await load(`${url}/v1/tools/core_report_usage`, bodies, o, child.pid);
    // a baseline that failed requests would flatter every ratio measured against it
    if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
      throw new Error(`baseline load had ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
    }
    return result;
  } finally {
    child.kill('SIGKILL');
  }
}

/** Starts RUNS runs on a running bridge, then loads core_report_usage spread over them. */
export async function bridgeLoad(bridge: BridgeProcess, o: LoadOptions): Promise<{ load: LoadResult; runIds: string[] }> {
  const runIds = newRunIds(RUNS);
  for (const id of runIds) {
    const r = await bridge.tool('core_start_run', startArgs(id));
    if (r.status !== 200) throw new Error(`core_start_run answered ${r.status}: ${JSON.stringify(r.body)}`);
  }
  const bodies = runIds.map((id) => JSON.stringify(reportArgs(id)));
  const result = await load(`${bridge.url}/v1/tools/core_report_usage`, bodies, o, bridge.child.pid);
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(`bridge load had ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
  }
  return { load: result, runIds };
}

export const PG_ADMIN_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** fn with a bridge store URL on a throwaway schema of PG_URL, dropped afterwards; rejects when Postgres is unreachable. */
export async function inPostgresSchema<T>(fn: (store: string) => Promise<T>): Promise<T> {
  const schema = `bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
    await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  } catch (e) {
    await admin.end().catch(() => undefined);
    throw new Error(`postgres unreachable at ${PG_ADMIN_URL}: ${String(e)}`);
  }
  try {
    return await fn(`${PG_ADMIN_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`);
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await admin.end().catch(() => undefined);
  }
}

/** The postgres figure against the baseline, in a throwaway schema; `skipped` says why when Postgres or its store fails. */
export async function postgresLoad(
  env: Record<string, string>,
  o: LoadOptions,
  log: (msg: string) => void,
): Promise<{ load?: Alternated; skipped?: string }> {
  let reachable = false;
  try {
    return await inPostgresSchema(async (store) => {
      reachable = true;
      const bridge = await BridgeProcess.start({ ...env, BRIDGE_STORE: store }, tempDir('oprelay-bench-'));
      try {
        return { load: await alternate(o, async () => (await bridgeLoad(bridge, o)).load, log) };
      } finally {
        await bridge.dispose();
      }
    });
  } catch (e) {
    return { skipped: reachable ? `postgres store failed: ${String(e).slice(0, 300)}` : String(e) };
  }
}
