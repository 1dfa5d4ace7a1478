import { BridgeError } from '../errors.js';
import type { RunStore } from '../store/run-store.js';

export interface BudgetOptions {
  store: RunStore;
  /** USD per project per UTC day (config.budgets) */
  budgets: Record<string, number>;
  /** answer core_start_run with 429 budget_exceeded once a project has spent its budget */
  enforce: boolean;
  /** how long a project's spent figure is reused; keeps core_start_run cheap */
  cacheMs?: number;
  now?: () => number;
}

const PAGE = 500;

function utcMidnight(now: number): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

/**
 * Per-project daily budgets (docs/architecture.md#budgets). "Spent today" is the cost so far of the runs started
 * since UTC midnight, including runs still in flight; a run started yesterday counts against
 * yesterday's budget for all of its cost. The figure is cached for `cacheMs` (default 2 s), so
 * a burst of starts can overshoot a budget by what those runs spend in that window.
 */
export class Budgets {
  private readonly cacheMs: number;
  private readonly now: () => number;
  private readonly cache = new Map<string, { day: number; at: number; spent: Promise<number> }>();

  constructor(private readonly o: BudgetOptions) {
    this.cacheMs = o.cacheMs ?? 2_000;
    this.now = o.now ?? Date.now;
  }

  get configured(): boolean {
    return Object.keys(this.o.budgets).length > 0;
  }

  /** USD spent today by runs of this project (cached briefly; one store scan per project at a time). */
  spentToday(project: string): Promise<number> {
    const now = this.now();
    const day = utcMidnight(now);
    const hit = this.cache.get(project);
    if (hit && hit.day === day && now - hit.at < this.cacheMs) return hit.spent;
    const spent = this.scan(project, day);
    this.cache.set(project, { day, at: now, spent });
    spent.catch(() => this.cache.delete(project));
    return spent;
  }

  private async scan(project: string, since: number): Promise<number> {
    let total = 0;
    let cursor: string | undefined;
    do {
      const page = await this.o.store.listRuns({ project_key: project, since, sort: 'started_at', limit: PAGE, cursor });
      for (const run of page.runs) total += run.totals.cost_usd;
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    return total;
  }

  /** Budget left today per configured project (negative once overspent): the oprelay.budget.remaining gauge. */
  async remaining(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const [project, budget] of Object.entries(this.o.budgets)) out.set(project, budget - (await this.spentToday(project)));
    return out;
  }

  /** RunService.beforeStart: refuses a new run of a project that has spent its budget (when enforced). */
  readonly check = async (project: string): Promise<void> => {
    const budget = this.o.budgets[project];
    if (!this.o.enforce || budget === undefined) return;
    const spent = await this.spentToday(project);
    if (spent >= budget)
      throw new BridgeError(
        'budget_exceeded',
        `project "${project}" has spent ${spent.toFixed(2)} USD of its daily budget of ${budget.toFixed(2)} USD (UTC day); new runs are refused until UTC midnight`,
      );
  };
}
