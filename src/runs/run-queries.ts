import { runNotFound } from '../errors.js';
import { agentOf } from '../store/run-columns.js';
import type { RunQuery, RunStore, UsageGroup, UsageGroupBy } from '../store/run-store.js';
import { canSee, type CallContext } from './call-context.js';
import { zeroTotals, type RunRecord, type RunStatus, type RunView, type Totals } from './model.js';
import { descendants } from './run-tree.js';
import type { RunViews } from './run-views.js';
import { addTotals } from './totals.js';

/** The store reads behind list_runs, get_run, usage_summary, recent_failures and their HTTP twins. */
export type QueryStore = Pick<RunStore, 'getRun' | 'listRuns' | 'usageSummary' | 'failedRuns' | 'usageTimeline'>;

export interface RunsFilter {
  project_key?: string;
  status?: RunStatus;
  agent?: string;
  agent_id?: string;
  since?: number;
  until?: number;
  limit: number;
  cursor?: string;
}

export interface UsageFilter {
  group_by: UsageGroupBy;
  project_key?: string;
  agent?: string;
  since?: number;
  until?: number;
}

/** What get_run answers. */
export type RunDetail = Awaited<ReturnType<RunQueries['getRun']>>;

/** A run as list_runs answers it: the API view plus the agent's name. */
export type RunListItem = RunView & { agent: string | null };

const CHILD_LIMIT = 100;
const iso = (ms: number) => new Date(ms).toISOString();

/** Read-only questions over runs, each answered by one store query and limited to the caller's projects. */
export class RunQueries {
  constructor(
    private readonly store: QueryStore,
    private readonly views: Pick<RunViews, 'view'>,
  ) {}

  private scope(ctx: CallContext): string[] | undefined {
    return ctx.projects && !ctx.projects.includes('*') ? [...ctx.projects] : undefined;
  }

  private item(run: RunRecord): RunListItem {
    return { ...this.views.view(run), agent: agentOf(run) };
  }

  async listRuns(f: RunsFilter, ctx: CallContext): Promise<{ runs: RunListItem[]; next_cursor: string | null }> {
    const query: RunQuery = { ...f, sort: 'started_at', projects: this.scope(ctx) };
    const page = await this.store.listRuns(query);
    return { runs: page.runs.map((r) => this.item(r)), next_cursor: page.next_cursor };
  }

  /** One run with what an SRE triages it by: failures and their reasons, child runs, usage reports, the trace. */
  async getRun(runId: string, ctx: CallContext) {
    const run = await this.store.getRun(runId);
    if (!run || !canSee(ctx, run.project_key)) throw runNotFound(runId);
    const view = this.views.view(run);
    const projects = this.scope(ctx);
    const children = await this.store.listRuns({ parent_run_id: run.run_id, sort: 'started_at', limit: CHILD_LIMIT, projects });
    const tree = await descendants(this.store, view, projects);
    return {
      ...view,
      agent: agentOf(run),
      summary: run.summary,
      end_summary: run.end_summary,
      failure_log: (run.failure_log ?? []).map(({ at, ...f }) => ({ ...f, at: iso(at) })),
      children: children.runs.map((c) => ({
        run_id: c.run_id,
        agent: agentOf(c),
        status: c.status,
        started_at: iso(c.started_at),
        totals: c.totals,
      })),
      totals_with_children: tree.totals_with_children,
      usage_reports: (await this.store.usageTimeline(run.run_id)).map(({ at, ...u }) => ({ ...u, at: iso(at) })),
      usage_reports_total: run.reports,
    };
  }

  async usageSummary(
    f: UsageFilter,
    ctx: CallContext,
  ): Promise<{
    group_by: UsageGroupBy;
    since: string | null;
    until: string | null;
    groups: UsageGroup[];
    totals: Totals & { runs: number; failed_runs: number; failures: number };
  }> {
    const groups = await this.store.usageSummary({ ...f, projects: this.scope(ctx) });
    let totals = zeroTotals();
    let runs = 0;
    let failedRuns = 0;
    let failures = 0;
    for (const g of groups) {
      totals = addTotals(totals, g);
      runs += g.runs;
      failedRuns += g.failed_runs;
      failures += g.failures;
    }
    return {
      group_by: f.group_by,
      since: f.since === undefined ? null : iso(f.since),
      until: f.until === undefined ? null : iso(f.until),
      groups,
      totals: { runs, failed_runs: failedRuns, failures, ...totals },
    };
  }

  /** The latest failures, newest first, with their run and agent. */
  async recentFailures(f: { project_key?: string; agent?: string; since?: number; limit: number }, ctx: CallContext) {
    const runs = await this.store.failedRuns({ ...f, projects: this.scope(ctx) });
    const failures = runs
      .flatMap((run) =>
        (run.failure_log ?? [])
          .filter((x) => f.since === undefined || x.at >= f.since)
          .map((x) => ({ ...x, run_id: run.run_id, project_key: run.project_key, agent: agentOf(run), run_status: run.status })),
      )
      .sort((a, b) => b.at - a.at || (a.failure_id < b.failure_id ? 1 : -1))
      .slice(0, f.limit);
    return { failures: failures.map(({ at, ...x }) => ({ ...x, at: iso(at) })) };
  }
}
