import { rmSync } from 'node:fs';
import { BridgeProcess, tempDir } from '../test/support/bridge-process.js';
import { StoreFiller } from './fill-store.js';
import { callMany, rssKiB, sleep } from './proc.js';
import { newRunIds, reportArgs, startArgs } from './workload.js';

export interface MemoryPoint {
  openRuns: number;
  rssKiB: number;
}

/**
 * RSS of a bridge process holding 0, 10k and 100k open runs. Runs are seeded through the run
 * service into the data dir (the outbox drained), then a fresh bridge is started on it and given
 * the same warm-up every time — 8 runs, 1,000 reports, listing running runs, /metrics (which
 * counts active runs) — and VmRSS is read after a 2 s pause. A fresh process per point keeps the
 * heap left over from seeding out of the figure.
 */
export async function memoryPoints(env: Record<string, string>, counts = [0, 10_000, 100_000]): Promise<MemoryPoint[]> {
  const dir = tempDir('oprelay-bench-mem-');
  const points: MemoryPoint[] = [];
  let seeded = 0;
  try {
    for (const n of counts) {
      if (n > seeded) {
        const filler = await StoreFiller.open(dir);
        await filler.startRuns(n - seeded);
        await filler.drainOutbox();
        await filler.close();
        seeded = n;
      }
      const bridge = await BridgeProcess.start(env, dir);
      try {
        await warmUp(bridge);
        await sleep(2000);
        points.push({ openRuns: n, rssKiB: rssKiB(bridge.child.pid!) });
      } finally {
        await bridge.stop();
      }
      seeded += 8; // the warm-up's own runs stay open
    }
    return points;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function warmUp(bridge: BridgeProcess): Promise<void> {
  const ids = newRunIds(8);
  const tool = (name: string) => `${bridge.url}/v1/tools/${name}`;
  await callMany(tool('core_start_run'), ids.length, 4, (i) => startArgs(ids[i]));
  await callMany(tool('core_report_usage'), 1000, 8, (i) => reportArgs(ids[i % ids.length]));
  for (let i = 0; i < 5; i++)
    if ((await bridge.get('/v1/runs?status=running&limit=500')).status !== 200) throw new Error('GET /v1/runs failed');
  for (let i = 0; i < 2; i++) if ((await bridge.get('/metrics')).status !== 200) throw new Error('GET /metrics failed');
}
