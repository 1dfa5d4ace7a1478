/**
 * Where a tool call's CPU goes: a bridge (dist/cli.js) run under `--cpu-prof` (every thread writes
 * its own profile), loaded like the bench's SQLite figure (core_report_usage
 * with 5 trace entries over 32 runs, autocannon in its own process, the relay exporting to a
 * local receiver), drained and stopped; then every profile is summarised by stage.
 *
 *   npm run build && node --import tsx bench/profile.ts [--duration=10] [--protocol=http/json] [--store=postgres]
 *   npm run build && node --import tsx bench/profile.ts --relay [--protocol=http/json]   (CPU per span: a 100k outbox drained)
 *   node --import tsx bench/profile.ts --summarise=<dir of .cpuprofile files> --calls=<n>
 * --store=postgres loads the Postgres store at PG_URL, in a throwaway schema, instead of SQLite.
 * --top=<n> also lists the n leaf frames with the most self time (stage: function file).
 *
 * A sample is put in the stage of the first frame, from the leaf up, that belongs to the bridge
 * or one of its packages (Node's internals and natives take the stage of their caller); a sample
 * with no such frame counts as HTTP when it is in Node's http/net code, else as other. Idle time and
 * module loading (start-up) are left out. Every sample of the export worker thread is relay, every
 * sample of the SQLite checkpointer thread transaction.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BridgeProcess, tempDir } from '../test/support/bridge-process.js';
import { waitQuiet } from './export-bench.js';
import { OtlpCounter } from './otlp-counter.js';
import { StoreFiller } from './fill-store.js';
import { bridgeLoad, inPostgresSchema } from './throughput-bench.js';

const STAGES = ['HTTP + JSON', 'validation', 'transaction', 'span records', 'metrics', 'relay + encoding', 'GC', 'other'] as const;
type Stage = (typeof STAGES)[number];

/** Stage of a frame by its script URL; undefined for frames that take their caller's stage. */
function stageOfUrl(url: string): Stage | undefined {
  const bridge = /\/(?:src|dist)\/(http|tools|runs|store|telemetry|export|auth|mcp)\/([\w-]+)\.[jt]s$/.exec(url);
  if (bridge) {
    const [, folder, file] = bridge;
    if (folder === 'http' || folder === 'auth' || folder === 'mcp') return 'HTTP + JSON';
    if (folder === 'tools') return ['validate', 'fast-report', 'schemas', 'limits'].includes(file!) ? 'validation' : 'HTTP + JSON';
    if (folder === 'store') return 'transaction';
    if (folder === 'export') return 'relay + encoding';
    if (folder === 'telemetry') return file === 'run-metrics' || file === 'label-cap' ? 'metrics' : 'span records';
    return file === 'effects' ? 'metrics' : 'transaction'; // runs/: the call's logic inside its transaction
  }
  const pkg = /node_modules\/((?:@[\w.-]+\/)?[\w.-]+)\//.exec(url)?.[1];
  if (pkg) {
    if (pkg === 'zod') return 'validation';
    if (pkg === 'better-sqlite3' || pkg.startsWith('pg')) return 'transaction';
    if (
      pkg === '@opentelemetry/sdk-metrics' ||
      pkg === '@opentelemetry/exporter-prometheus' ||
      pkg === '@opentelemetry/exporter-metrics-otlp-http'
    )
      return 'metrics';
    if (pkg.startsWith('@opentelemetry/')) return 'relay + encoding';
    return 'HTTP + JSON'; // express, body parsing, compression
  }
  return undefined;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** µs per stage in one profile (idle left out). */
export function summariseProfile(profile: CpuProfile, wholeThread?: Stage): Map<Stage, number> {
  const parent = new Map<number, ProfileNode>();
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n);
  }
  const cache = new Map<number, Stage | null>();
  const loadingModules = (leaf: ProfileNode): boolean => {
    for (let n: ProfileNode | undefined = leaf; n; n = parent.get(n.id))
      if (n.callFrame.url.startsWith('node:internal/modules/')) return true;
    return false;
  };
  const stageOf = (leaf: ProfileNode): Stage | null => {
    const cached = cache.get(leaf.id);
    if (cached !== undefined) return cached;
    const name = leaf.callFrame.functionName;
    let stage: Stage | null;
    if (name === '(idle)') stage = null;
    else if (name === '(garbage collector)') stage = 'GC';
    else if (loadingModules(leaf))
      stage = null; // start-up: compiling and linking modules, not calls
    else if (wholeThread) stage = wholeThread;
    else {
      stage = null;
      let nodeInternal: Stage | undefined;
      for (let n: ProfileNode | undefined = leaf; n && !stage; n = parent.get(n.id)) {
        stage = stageOfUrl(n.callFrame.url) ?? null;
        if (!nodeInternal && /^node:(?:_http|http|net|internal\/(?:http|net|stream|streams))/.test(n.callFrame.url))
          nodeInternal = 'HTTP + JSON';
      }
      stage ??= nodeInternal ?? 'other';
    }
    cache.set(leaf.id, stage);
    return stage;
  };
  const out = new Map<Stage, number>();
  profile.samples.forEach((id, i) => {
    const leaf = byId.get(id)!;
    const stage = stageOf(leaf);
    if (!stage) return;
    const us = profile.timeDeltas[i] ?? 0;
    out.set(stage, (out.get(stage) ?? 0) + us);
    const frame = `${stage}: ${leaf.callFrame.functionName || '(anonymous)'} ${leaf.callFrame.url.split('/').slice(-2).join('/')}`;
    topFrames.set(frame, (topFrames.get(frame) ?? 0) + us);
  });
  return out;
}

/** self time per leaf frame (stage, function, file), over every profile summarised */
const topFrames = new Map<string, number>();

/** The stage a worker thread's every sample counts in, by the module it runs. */
function threadStage(profile: CpuProfile): Stage {
  const urls = profile.nodes.map((n) => n.callFrame.url);
  if (urls.some((u) => /\/export\/export-worker\.[jt]s$/.test(u))) return 'relay + encoding';
  if (urls.some((u) => /\/store\/|better-sqlite3|\[worker eval\]/.test(u))) return 'transaction'; // the SQLite checkpointer
  return 'other';
}

/** Sums every .cpuprofile in dir (main thread and worker threads: thread id ≠ 0 in the file name). */
/** µs per stage over every thread's profile in dir, and µs per thread (the main thread is 'main'). */
export function summariseDir(dir: string): { total: Map<Stage, number>; threads: Map<string, number> } {
  const total = new Map<Stage, number>();
  const threads = new Map<string, number>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    // CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile
    const threadId = Number(file.split('.')[4]);
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    const wholeThread = threadId === 0 ? undefined : threadStage(profile);
    const thread = threadId === 0 ? 'main' : `worker ${threadId} (${wholeThread})`;
    for (const [stage, us] of summariseProfile(profile, wholeThread)) {
      total.set(stage, (total.get(stage) ?? 0) + us);
      threads.set(thread, (threads.get(thread) ?? 0) + us);
    }
  }
  return { total, threads };
}

function printSplit({ total: split, threads }: ReturnType<typeof summariseDir>, calls: number, top: number, unit: 'call' | 'span'): void {
  if (top > 0) {
    const frames = [...topFrames].sort((a, b) => b[1] - a[1]).slice(0, top);
    for (const [frame, us] of frames) process.stdout.write(`${(us / calls).toFixed(1).padStart(8)} µs/${unit}  ${frame}\n`);
    process.stdout.write('\n');
  }
  const total = [...split.values()].reduce((a, b) => a + b, 0);
  process.stdout.write(`| stage | CPU µs per ${unit} | share |\n|---|---|---|\n`);
  for (const stage of STAGES) {
    const us = split.get(stage) ?? 0;
    process.stdout.write(`| ${stage} | ${(us / calls).toFixed(0)} | ${((us / total) * 100).toFixed(1)} % |\n`);
  }
  process.stdout.write(`| all threads | ${(total / calls).toFixed(0)} | 100 % |\n`);
  for (const [thread, us] of threads)
    process.stdout.write(`| thread: ${thread} | ${(us / calls).toFixed(0)} | ${((us / total) * 100).toFixed(1)} % |\n`);
  process.stdout.write(`\n${calls} ${unit}s\n`);
}

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string' },
    protocol: { type: 'string' },
    summarise: { type: 'string' },
    calls: { type: 'string' },
    top: { type: 'string' },
    relay: { type: 'boolean' },
    store: { type: 'string' },
  },
});

/** Starts a bridge under --cpu-prof (env added to the bench's), loads it, waits until it exported everything, stops it. */
async function profiled(
  profDir: string,
  env: Record<string, string>,
  dataDir: string,
  load: (bridge: BridgeProcess, counter: OtlpCounter) => Promise<number>,
): Promise<number> {
  const counter = new OtlpCounter();
  const receiverUrl = await counter.listen();
  const bridge = await BridgeProcess.start(
    {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl,
      ...(args.protocol ? { OTEL_EXPORTER_OTLP_PROTOCOL: args.protocol } : {}),
      BRIDGE_EXPORT_INTERVAL_MS: '1000',
      BRIDGE_LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
      ...env,
    },
    dataDir,
    ['--cpu-prof', `--cpu-prof-dir=${profDir}`],
  );
  try {
    const units = await load(bridge, counter);
    await waitQuiet(counter, 2500, 60_000);
    const code = await bridge.stop(); // a clean exit writes the profiles
    if (code !== 0) throw new Error(`bridge exited with ${code}`);
    return units;
  } finally {
    await bridge.kill();
    await counter.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (args.summarise) {
  printSplit(summariseDir(args.summarise), Number(args.calls ?? 1), Number(args.top ?? 0), 'call');
} else {
  const profDir = mkdtempSync(join(tmpdir(), 'oprelay-profile-'));
  const dataDir = tempDir('oprelay-profile-data-');
  let units: number;
  if (args.relay) {
    // a 100k outbox filled without the bridge, then drained by it: the split is per span delivered
    const filler = await StoreFiller.open(dataDir);
    const runs = await filler.startRuns(1000);
    await filler.report(runs, 16_500);
    const spans = await filler.depth();
    await filler.close();
    units = await profiled(profDir, {}, dataDir, async (_bridge, counter) => {
      await counter.waitFor(spans, 120_000);
      return spans;
    });
  } else {
    const loadBridge = async (bridge: BridgeProcess) => {
      const { load } = await bridgeLoad(bridge, { durationS: Number(args.duration ?? 10), warmupS: 0, rounds: 1 });
      return load.total + 32; // the reports, and the runs started before them
    };
    units =
      args.store === 'postgres'
        ? await inPostgresSchema((store) => profiled(profDir, { BRIDGE_STORE: store }, dataDir, loadBridge))
        : await profiled(profDir, {}, dataDir, loadBridge);
  }
  process.stdout.write(`profiles in ${profDir}: ${readdirSync(profDir).join(', ')}\n`);
  printSplit(summariseDir(profDir), units, Number(args.top ?? 0), args.relay ? 'span' : 'call');
  if (!process.env.KEEP_PROFILES) rmSync(profDir, { recursive: true, force: true });
}
