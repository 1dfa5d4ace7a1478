import type { RunDetail } from '../runs/run-queries.js';
import { COPY_SCRIPT, duration, esc, layout, traceCell } from './live-page-html.js';
import type { LiveRun } from './live-run.js';

/** HTML of one run's detail view (`/runs/{run_id}`): what get_run answers, laid out for an SRE. */

const n = (v: number) => v.toLocaleString('en-US');
const usd = (v: number) => `$${v.toFixed(4)}`;

function field(name: string, label: string, value: string, html = false): string {
  return `<dt>${esc(label)}</dt><dd data-field="${esc(name)}">${html ? value : esc(value)}</dd>`;
}

function table(id: string, caption: string, head: string[], rows: string[][], numeric: Set<number>): string {
  const th = head.map((h, i) => `<th scope="col"${numeric.has(i) ? ' class="num"' : ''}>${esc(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c, i) => `<td${numeric.has(i) ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`).join('\n');
  return `<section id="${id}"><h2>${esc(caption)}</h2><table><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table></section>`;
}

function failures(detail: RunDetail): string {
  if (detail.failure_log.length === 0) return '';
  const rows = detail.failure_log.map((f) => [
    esc(f.at),
    `<code>${esc(f.error_type)}</code>`,
    esc(f.summary),
    f.error === null ? '<span class="empty">not captured (BRIDGE_CAPTURE_CONTENT)</span>' : `<pre>${esc(f.error)}</pre>`,
  ]);
  const dropped = detail.failures - detail.failure_log.length;
  const note = dropped > 0 ? `<p class="meta">${n(dropped)} earlier failures are counted but not kept.</p>` : '';
  return table('failures', 'Failures', ['Time', 'Type', 'Summary', 'Error'], rows, new Set()) + note;
}

function children(detail: RunDetail): string {
  if (detail.children.length === 0) return '';
  const rows = detail.children.map((c) => [
    `<a href="/runs/${esc(c.run_id)}">${esc(c.agent ?? c.run_id)}</a>`,
    `<span class="status s-${esc(c.status)}">${esc(c.status)}</span>`,
    esc(c.started_at),
    esc(n(c.totals.total_tokens)),
    esc(usd(c.totals.cost_usd)),
  ]);
  return table('children', 'Child runs', ['Run', 'Status', 'Started', 'Tokens', 'Cost (USD)'], rows, new Set([3, 4]));
}

function timeline(detail: RunDetail, started: number): string {
  if (detail.usage_reports.length === 0) return '';
  let tokens = 0;
  let cost = 0;
  const rows = detail.usage_reports.map((u) => {
    tokens = u.kind === 'final' ? Math.max(tokens, u.total_tokens) : tokens + u.total_tokens;
    cost = u.kind === 'final' ? Math.max(cost, u.cost_usd) : cost + u.cost_usd;
    return [
      `+${esc(duration(Date.parse(u.at) - started))}`,
      esc(u.kind === 'final' ? 'final (end)' : 'report'),
      esc(u.model ?? '–'),
      esc(`${n(u.input_tokens)} / ${n(u.output_tokens)} / ${n(u.total_tokens)}`),
      esc(usd(u.cost_usd)),
      esc(n(tokens)),
    ];
  });
  const dropped = detail.usage_reports_total - detail.usage_reports.filter((u) => u.kind === 'report').length;
  const note = dropped > 0 ? `<p class="meta">${n(dropped)} later reports are counted in the totals but not listed.</p>` : '';
  const head = ['Time', 'Kind', 'Model', 'Tokens (in / out / total)', 'Cost (USD)', 'Run total tokens'];
  return table('usage', 'Usage reports', head, rows, new Set([3, 4, 5])) + note;
}

export function renderRunDetail(nonce: string, run: LiveRun, detail: RunDetail, now: number): string {
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
    field('tokens', 'Tokens (input / output / total)', `${n(t.input_tokens)} / ${n(t.output_tokens)} / ${n(t.total_tokens)}`),
    field('cost', 'Cost (USD)', usd(t.cost_usd)),
    field('llm_calls', 'LLM calls', n(t.llm_calls)),
    ...(detail.children.length
      ? [
          field(
            'with_children',
            'With child runs (tokens / cost)',
            `${n(detail.totals_with_children.total_tokens)} / ${usd(detail.totals_with_children.cost_usd)}`,
          ),
        ]
      : []),
    field('failures', 'Failures recorded', n(run.failures)),
    field('trace', 'Trace', traceCell(run), true),
    field('run_id', 'Run id', run.run_id),
    ...(run.parent_run_id
      ? [field('parent_run_id', 'Parent run', `<a href="/runs/${esc(run.parent_run_id)}">${esc(run.parent_run_id)}</a>`, true)]
      : []),
    ...(run.session_id ? [field('session_id', 'Session', run.session_id)] : []),
  ];
  const meta = run.meta ? `<h2>meta_json</h2><pre>${esc(JSON.stringify(run.meta, null, 2))}</pre>` : '';
  const body = `<header><h1>${esc(run.agent_label)} · <span class="status s-${esc(run.status)}">${esc(run.status)}</span></h1>
<p class="meta"><a href="/">All runs</a></p></header>
<main><dl class="run">${rows.join('\n')}</dl>${failures(detail)}${children(detail)}${timeline(detail, started)}${meta}</main>`;
  return layout(`Run ${run.run_id.slice(0, 8)} · oprelay-bridge`, nonce, body, COPY_SCRIPT);
}

export function renderRunMissing(nonce: string, runId: string): string {
  const body = `<main><h1>oprelay · run</h1><p class="error" role="alert">No run ${esc(runId)} visible to this browser's key.</p><p><a href="/">All runs</a></p></main>`;
  return layout('Run not found · oprelay-bridge', nonce, body);
}
