import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import type { FailureEntry, RunRecord, UsageEntry } from '../src/runs/model.js';
import type { RunStore, UsageGroup } from '../src/store/run-store.js';
import { T0, makeRun } from './store-contract.js';

const DAY = 86_400_000;

function failure(at: number, type: string): FailureEntry {
  return { failure_id: `f-${at}`, at, error_type: type, summary: `${type} at ${at}`, error: null, task_id: null };
}

/**
 * 12 runs: project alpha (i < 8) or beta; agent name "deployer" (even i, in meta_json), record_run's
 * name "Planner Bot" (odd i); model gpt-4o (i % 3 == 0) or claude-opus-4; day 0 (i < 6) or day 1;
 * tokens i*100 in, i*10 out; cost i*0.25 (exact in binary, so sums compare exactly); runs 3 and 9
 * failed with 1 and 2 failures.
 */
function makeUsageRuns(): RunRecord[] {
  return Array.from({ length: 12 }, (_, i) => {
    const failures =
      i === 3
        ? [failure(T0 + 3_000, 'TimeoutError')]
        : i === 9
          ? [failure(T0 + DAY + 1_000, 'KeyError'), failure(T0 + DAY + 9_000, 'ValueError')]
          : [];
    const model = i % 3 === 0 ? 'gpt-4o' : 'claude-opus-4';
    return makeRun(`usage-${String(i).padStart(2, '0')}`, {
      project_key: i < 8 ? 'alpha' : 'beta',
      agent_id: `00000000-0000-4000-8000-00000000000${i % 10}`,
      meta: i % 2 === 0 ? { agent_name: 'deployer' } : null,
      agent_name: 'Planner Bot',
      status: failures.length ? 'failed' : 'completed',
      started_at: T0 + (i < 6 ? 0 : DAY) + i * 1000,
      models: [model],
      last_model: model,
      totals: { input_tokens: i * 100, output_tokens: i * 10, total_tokens: i * 110, cost_usd: i * 0.25, llm_calls: i },
      failures: failures.length,
      failure_log: failures,
    });
  });
}

function expected(runs: RunRecord[], keyOf: (r: RunRecord) => string | null): Map<string | null, UsageGroup> {
  const out = new Map<string | null, UsageGroup>();
  for (const r of runs) {
    const key = keyOf(r);
    const g = out.get(key) ?? {
      key,
      runs: 0,
      failed_runs: 0,
      failures: 0,
      input_tokens: 0,
      output_tokens: 0,
      total_tokens: 0,
      cost_usd: 0,
      llm_calls: 0,
    };
    g.runs++;
    g.failed_runs += r.status === 'failed' ? 1 : 0;
    g.failures += r.failures;
    g.input_tokens += r.totals.input_tokens;
    g.output_tokens += r.totals.output_tokens;
    g.total_tokens += r.totals.total_tokens;
    g.cost_usd += r.totals.cost_usd;
    g.llm_calls += r.totals.llm_calls;
    out.set(key, g);
  }
  return out;
}

const byKey = (groups: UsageGroup[]) => new Map(groups.map((g) => [g.key, g]));

/** usageSummary and failedRuns: every backend sums the same groups from its own columns. */
export function usageContract(store: () => RunStore): void {
  const usageRuns = makeUsageRuns();
  before(async () => {
    for (const run of usageRuns) await store().transact(run.run_id, (tx) => tx.saveRun(run));
  });

  it('sums runs, tokens, cost and failures per project, agent and model', async () => {
    const agentOf = (r: RunRecord) => (r.meta?.agent_name as string | undefined) ?? r.agent_name;
    assert.deepEqual(
      byKey(await store().usageSummary({ group_by: 'project' })),
      expected(usageRuns, (r) => r.project_key),
    );
    assert.deepEqual(byKey(await store().usageSummary({ group_by: 'agent' })), expected(usageRuns, agentOf));
    assert.deepEqual(
      byKey(await store().usageSummary({ group_by: 'model' })),
      expected(usageRuns, (r) => r.last_model),
    );
    const alpha = await store().usageSummary({ group_by: 'project', project_key: 'alpha' });
    assert.deepEqual(alpha, [
      {
        key: 'alpha',
        runs: 8,
        failed_runs: 1,
        failures: 1,
        input_tokens: 2800,
        output_tokens: 280,
        total_tokens: 3080,
        cost_usd: 7,
        llm_calls: 28,
      },
    ]);
  });

  it("orders groups by cost, and limits them to the window, the agent and the caller's projects", async () => {
    const groups = await store().usageSummary({ group_by: 'project' });
    assert.deepEqual(
      groups.map((g) => g.key),
      ['beta', 'alpha'],
    );
    const day1 = usageRuns.filter((r) => r.started_at >= T0 + DAY);
    assert.deepEqual(
      byKey(await store().usageSummary({ group_by: 'model', since: T0 + DAY })),
      expected(day1, (r) => r.last_model),
    );
    const day0 = usageRuns.filter((r) => r.started_at < T0 + DAY);
    assert.deepEqual(
      byKey(await store().usageSummary({ group_by: 'project', until: T0 + DAY })),
      expected(day0, (r) => r.project_key),
    );
    const deployerBeta = usageRuns.filter((r) => r.project_key === 'beta' && r.meta?.agent_name === 'deployer');
    assert.deepEqual(
      byKey(await store().usageSummary({ group_by: 'model', projects: ['beta'], agent: 'deployer' })),
      expected(deployerBeta, (r) => r.last_model),
    );
    assert.deepEqual(await store().usageSummary({ group_by: 'project', projects: [] }), []);
    assert.deepEqual(await store().usageSummary({ group_by: 'project', projects: ['gamma'] }), []);
  });

  it('keeps the columns current when a read run is saved with new usage and failures', async () => {
    await store().transact('usage-00', async (tx) => {
      const run = (await tx.getRun('usage-00'))!;
      run.totals = { input_tokens: 7, output_tokens: 3, total_tokens: 10, cost_usd: 0.5, llm_calls: 1 };
      run.failures = 1;
      run.failure_log = [failure(T0 + 500, 'RateLimitError')];
      run.last_model = 'gpt-4o-mini';
      await tx.saveRun(run);
    });
    const [mini] = await store().usageSummary({ group_by: 'model', since: T0, until: T0 + 1 });
    assert.deepEqual(mini, {
      key: 'gpt-4o-mini',
      runs: 1,
      failed_runs: 0,
      failures: 1,
      input_tokens: 7,
      output_tokens: 3,
      total_tokens: 10,
      cost_usd: 0.5,
      llm_calls: 1,
    });
  });

  it('lists runs by their last failure, newest first, within the window and scope', async () => {
    const ids = (runs: RunRecord[]) => runs.map((r) => r.run_id);
    assert.deepEqual(ids(await store().failedRuns({ limit: 10 })), ['usage-09', 'usage-03', 'usage-00']);
    assert.deepEqual(ids(await store().failedRuns({ limit: 1 })), ['usage-09']);
    assert.deepEqual(ids(await store().failedRuns({ limit: 10, since: T0 + 1_000 })), ['usage-09', 'usage-03']);
    assert.deepEqual(ids(await store().failedRuns({ limit: 10, projects: ['alpha'] })), ['usage-03', 'usage-00']);
    assert.deepEqual(ids(await store().failedRuns({ limit: 10, agent: 'Planner Bot' })), ['usage-09', 'usage-03']);
    assert.deepEqual(
      (await store().failedRuns({ limit: 10, project_key: 'beta' }))[0]?.failure_log?.map((f) => f.error_type),
      ['KeyError', 'ValueError'],
    );
  });

  it('filters listRuns by agent name and an end of the window', async () => {
    const page = await store().listRuns({ sort: 'started_at', limit: 100, agent: 'deployer', until: T0 + DAY });
    assert.deepEqual(
      page.runs.map((r) => r.run_id),
      ['usage-04', 'usage-02', 'usage-00'],
    );
  });

  it('keeps a run usage timeline apart from its document, in order, only once its transaction commits, and deletes it with the run', async () => {
    const entry = (at: number, input: number): UsageEntry => ({
      at,
      kind: at === T0 + 3 ? 'final' : 'report',
      model: 'gpt-4o',
      input_tokens: input,
      output_tokens: 1,
      total_tokens: input + 1,
      cost_usd: 0.25,
      llm_calls: 1,
    });
    await store().transact('usage-01', async (tx) => {
      await tx.appendUsage('usage-01', 0, entry(T0 + 1, 10));
      await tx.appendUsage('usage-01', 1, entry(T0 + 2, 20));
    });
    await assert.rejects(
      store().transact('usage-01', async (tx) => {
        await tx.appendUsage('usage-01', 2, entry(T0 + 9, 99));
        throw new Error('the call fails');
      }),
      /the call fails/,
    );
    await store().transact('usage-01', (tx) => tx.appendUsage('usage-01', 2, entry(T0 + 3, 30)));
    assert.deepEqual(await store().usageTimeline('usage-01'), [entry(T0 + 1, 10), entry(T0 + 2, 20), entry(T0 + 3, 30)]);
    assert.equal((await store().getRun('usage-01'))!.usage_logged, undefined, 'the document holds none of it');
    assert.deepEqual(await store().usageTimeline('usage-02'), []);
    while ((await store().deleteEndedRuns(T0 + 10 * DAY, 50)) > 0);
    assert.equal(await store().getRun('usage-01'), null);
    assert.deepEqual(await store().usageTimeline('usage-01'), []);
  });
}
