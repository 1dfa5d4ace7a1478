import { BridgeError } from '../errors.js';
import type { RunStore } from '../store/run-store.js';
import type { MetricEffect, MetricSink } from './effects.js';

/** The store method budgets use: a project's runs of the day, for the spent figure. */
export type BudgetStore = Pick<RunStore, 'listRuns'>;

export interface BudgetOptions {
  store: BudgetStore;
  /** USD per project per UTC day (config.budgets) */
  budgets: Record<string, number>;
  /** answer core_start_run with 429 budget_exceeded once a project has spent its budget */
  enforce: boolean;
  /** how long a project's spent figure is reused before the store is read again; keeps core_start_run cheap */
  cacheMs?: number;
  now?: () => number;
}

const PAGE = 500;

function utcMidnight(now: number): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

interface CachedSpent {
  day: number;
  at: number;
  /** the store's figure when it was read */
  scanned: Promise<number>;
  /** cost this bridge committed since the read started */
  added: number;
}

/**
 * Per-project daily budgets (docs/architecture.md#budgets). "Spent today" is the cost so far of the runs
 * started since UTC midnight, including runs still in flight; a run started yesterday counts
 * against yesterday's budget for all of its cost. The store's figure is re-read every `cacheMs`
 * (default 2 s); in between, every cost this bridge commits is added to it as the call commits
 * (apply(), fed the same effects as the metrics), so on one bridge a project is refused from its
 * first start after the spending call. Other replicas' spending shows up at the next re-read.
 */
export class Budgets implements MetricSink {
  private readonly cacheMs: number;
  private readonly now: () => number;
  private readonly cache = new Map<string, CachedSpent>();

  constructor(private readonly options: BudgetOptions) {
    this.cacheMs = options.cacheMs ?? 2_000;
    this.now = options.now ?? Date.now;
  }

  get configured(): boolean {
    return Object.keys(this.options.budgets).length > 0;
  }

  /** USD spent today by runs of this project (cached briefly; one store scan per project at a time). */
  spentToday(project: string): Promise<number> {
    const now = this.now();
    const day = utcMidnight(now);
    let entry = this.cache.get(project);
    if (!entry || entry.day !== day || now - entry.at >= this.cacheMs) {
      // a cost committed while the scan runs may be counted twice until the next read: never too little
      const fresh: CachedSpent = { day, at: now, scanned: this.scan(project, day), added: 0 };
      fresh.scanned.catch(() => this.cache.get(project) === fresh && this.cache.delete(project));
      this.cache.set(project, fresh);
      entry = fresh;
    }
    const read = entry;
    return read.scanned.then((spent) => spent + read.added);
  }

  /** Adds each committed cost of a run started today to its project's cached figure. */
  apply(effects: MetricEffect[]): void {
    for (const e of effects) {
      if (e.kind !== 'usage' || !e.delta.cost_usd) continue;
      const entry = this.cache.get(e.project);
      if (entry && e.runStartedAt >= entry.day) entry.added += e.delta.cost_usd;
    }
  }

  private async scan(project: string, since: number): Promise<number> {
    let total = 0;
    let cursor: string | undefined;
    do {
      const page = await this.options.store.listRuns({ project_key: project, since, sort: 'started_at', limit: PAGE, cursor });
      for (const run of page.runs) total += run.totals.cost_usd;
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    return total;
  }

  /** Budget left today per configured project (negative once overspent): the oprelay.budget.remaining gauge. */
  async remaining(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const [project, budget] of Object.entries(this.options.budgets)) out.set(project, budget - (await this.spentToday(project)));
    return out;
  }

  /** RunService.beforeStart: refuses a new run of a project that has spent its budget (when enforced). */
  readonly check = async (project: string): Promise<void> => {
    const budget = this.options.budgets[project];
    if (!this.options.enforce || budget === undefined) return;
    const spent = await this.spentToday(project);
    if (spent >= budget)
      throw new BridgeError(
        'budget_exceeded',
        `project "${project}" has spent ${spent.toFixed(2)} USD of its daily budget of ${budget.toFixed(2)} USD (UTC day); new runs are refused until UTC midnight`,
      );
  };
}
