import type { RunStore } from '../store/run-store.js';
import type { RunView, Totals } from './model.js';
import { addTotals } from './totals.js';

/** The one store read the tree walk needs. */
export type ChildRunStore = Pick<RunStore, 'listRuns'>;

/**
 * Child run ids and the totals of the run with all its descendants (sub-agent runs), walked level by
 * level: at most 16 levels and 10,000 runs, so a cycle or a huge tree cannot hold a request.
 * @param projects the caller's projects; undefined sees all
 */
export async function descendants(
  store: ChildRunStore,
  run: RunView,
  projects: string[] | undefined,
): Promise<{ children: string[]; totals_with_children: Totals }> {
  let total = run.totals;
  let children: string[] = [];
  let level = [run.run_id];
  const seen = new Set(level);
  for (let depth = 0; depth < 16 && level.length > 0 && seen.size < 10_000; depth++) {
    const next: string[] = [];
    for (const parent of level) {
      const page = await store.listRuns({ parent_run_id: parent, sort: 'started_at', limit: 500, projects });
      for (const child of page.runs) {
        if (seen.has(child.run_id)) continue;
        seen.add(child.run_id);
        next.push(child.run_id);
        total = addTotals(total, child.totals);
      }
    }
    if (depth === 0) children = next;
    level = next;
  }
  return { children, totals_with_children: total };
}
