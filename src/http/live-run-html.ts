import { COPY_SCRIPT, duration, esc, layout, traceCell } from './live-page-html.js';
import type { LiveRun } from './live-run.js';

/** HTML of one run's detail view (`/runs/{run_id}`): everything the table leaves out. */

function field(name: string, label: string, value: string, html = false): string {
  return `<dt>${esc(label)}</dt><dd data-field="${esc(name)}">${html ? value : esc(value)}</dd>`;
}

export function renderRunDetail(nonce: string, run: LiveRun, now: number): string {
  const started = Date.parse(run.started_at);
  const ended = run.ended_at ? Date.parse(run.ended_at) : now;
  const t = run.totals;
  const agent = run.agent_id ? `${run.agent_label} (${run.agent_id})` : run.agent_label;
  const rows = [
    field('agent', 'Agent', agent),
    field('project', 'Project', run.project_key),
    field('status', 'Status', run.status),
    ...(run.reason ? [field('failure', run.status === 'failed' ? 'Why it failed' : 'Why it ended', run.reason)] : []),
    field('summary', 'Summary (start)', run.summary ?? '–'),
    field('end_summary', 'Summary (end)', run.end_summary ?? '–'),
    field('models', 'Models', run.models.join(', ') || '–'),
    field('started', 'Started', `${run.started_at} (${duration(now - started)} ago)`),
    field('ended', 'Ended', run.ended_at ?? 'still running'),
    field('duration', 'Duration', duration(ended - started)),
    field('tokens', 'Tokens (input / output / total)', `${t.input_tokens} / ${t.output_tokens} / ${t.total_tokens}`),
    field('cost', 'Cost (USD)', `$${t.cost_usd.toFixed(4)}`),
    field('llm_calls', 'LLM calls', String(t.llm_calls)),
    field('failures', 'Failures recorded', String(run.failures)),
    field('trace', 'Trace', traceCell(run), true),
    field('trace_id', 'Trace id', run.trace_id),
    field('run_id', 'Run id', run.run_id),
    ...(run.parent_run_id
      ? [field('parent_run_id', 'Parent run', `<a href="/runs/${esc(run.parent_run_id)}">${esc(run.parent_run_id)}</a>`, true)]
      : []),
    ...(run.session_id ? [field('session_id', 'Session', run.session_id)] : []),
  ];
  const meta = run.meta ? `<h2>meta_json</h2><pre>${esc(JSON.stringify(run.meta, null, 2))}</pre>` : '';
  const body = `<header><h1>${esc(run.agent_label)} · <span class="status s-${esc(run.status)}">${esc(run.status)}</span></h1>
<p class="meta"><a href="/">All runs</a></p></header>
<main><dl class="run">${rows.join('\n')}</dl>${meta}</main>`;
  return layout(`Run ${run.run_id.slice(0, 8)} · oprelay-bridge`, nonce, body, COPY_SCRIPT);
}

export function renderRunMissing(nonce: string, runId: string): string {
  const body = `<main><h1>oprelay · run</h1><p class="error" role="alert">No run ${esc(runId)} visible to this browser's key.</p><p><a href="/">All runs</a></p></main>`;
  return layout('Run not found · oprelay-bridge', nonce, body);
}
