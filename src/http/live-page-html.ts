import type { LiveRun } from './live-run.js';

/** HTML rendering of the live runs page: everything interpolated goes through esc(). */

export const STATUSES = ['running', 'completed', 'failed', 'interrupted'] as const;

export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface RunTable {
  id: string;
  caption: string;
  runs: LiveRun[];
  more: boolean;
}

export interface PageModel {
  nonce: string;
  now: number;
  project: string;
  status: string;
  refreshSeconds: number;
  signedIn: boolean;
  /** projects for the filter's suggestions */
  projects: string[];
  tables: RunTable[];
  error?: string;
}

const CSS = `
:root{color-scheme:light;--fg:#1a1a1a;--muted:#4a4a4a;--line:#d0d4da;--link:#1d4ed8;--bg:#fff;--head:#f3f4f6}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header,main{max-width:1280px;margin:0 auto;padding:12px 20px}
header{display:flex;flex-wrap:wrap;gap:8px 24px;align-items:baseline;border-bottom:1px solid var(--line)}
h1{font-size:1.3rem;margin:0}
.meta{color:var(--muted);font-size:.9rem}
form.filters{display:flex;flex-wrap:wrap;gap:12px;align-items:end;margin:12px 0}
label{display:flex;flex-direction:column;font-size:.85rem;font-weight:600;gap:2px}
label.inline{flex-direction:row;align-items:center;gap:6px;font-weight:400}
input,select,button{font:inherit;padding:5px 8px;border:1px solid #6b7280;border-radius:4px;background:#fff;color:var(--fg)}
button{background:#1d4ed8;border-color:#1d4ed8;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#1d4ed8}
:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
a{color:var(--link)}
table{border-collapse:collapse;width:100%;margin:8px 0 24px;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:700;font-size:1.05rem;padding:6px 0}
th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap;vertical-align:top}
td.text{white-space:normal;min-width:10rem;max-width:22rem;overflow-wrap:anywhere}
td.reason{color:#7f1d1d}
code.tid{font-size:.8rem;user-select:all}
button.copy{padding:0 6px;margin-left:6px;font-size:.8rem}
dl.run{display:grid;grid-template-columns:max-content 1fr;gap:6px 16px;margin:12px 0}
dl.run dt{font-weight:700}dl.run dd{margin:0;overflow-wrap:anywhere}
#runs{overflow-x:auto}
pre{background:var(--head);padding:8px;border-radius:4px;overflow:auto;font-size:.85rem}
thead th{background:var(--head);font-size:.85rem}
td.num,th.num{text-align:right}
code{font-size:.85rem}
.status{display:inline-block;padding:1px 8px;border-radius:10px;font-size:.85rem;font-weight:600}
.s-running{background:#dbeafe;color:#1e3a8a}.s-completed{background:#dcfce7;color:#14532d}
.s-failed{background:#fee2e2;color:#7f1d1d}.s-interrupted{background:#fef3c7;color:#78350f}
.fail{color:#991b1b;font-weight:700}
.empty{color:var(--muted);font-style:italic}
.error{background:#fee2e2;color:#7f1d1d;padding:8px 12px;border-radius:4px}
.login{max-width:420px;margin:48px auto;display:flex;flex-direction:column;gap:12px}
`;

export function layout(title: string, nonce: string, body: string, script = ''): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><style nonce="${esc(nonce)}">${CSS}</style></head>
<body>${body}${script ? `<script nonce="${esc(nonce)}">${script}</script>` : ''}</body></html>`;
}

export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

/** The whole trace id (selectable, with a Copy button) and, with BRIDGE_TRACE_URL, a link to it. */
export function traceCell(run: LiveRun): string {
  const link =
    run.trace_url && /^https?:\/\//i.test(run.trace_url)
      ? `<a href="${esc(run.trace_url)}" rel="noopener noreferrer" aria-label="Trace of run ${esc(run.run_id)}">Trace</a> `
      : '';
  return `${link}<code class="tid" title="trace id">${esc(run.trace_id)}</code><button type="button" class="copy secondary" data-copy="${esc(run.trace_id)}" aria-label="Copy trace id of run ${esc(run.run_id)}">Copy</button>`;
}

const COLUMNS = [
  'Agent',
  'Project',
  'Summary',
  'Model',
  'Started',
  'Duration',
  'Tokens',
  'Cost (USD)',
  'Failures',
  'Status',
  'Failure / end reason',
  'Trace',
];
const NUMERIC = new Set(['Duration', 'Tokens', 'Cost (USD)', 'Failures']);

function row(run: LiveRun, now: number): string {
  const started = Date.parse(run.started_at);
  const ended = run.ended_at ? Date.parse(run.ended_at) : now;
  return `<tr data-run-id="${esc(run.run_id)}" data-status="${esc(run.status)}">
<th scope="row"><a class="run" href="/runs/${esc(run.run_id)}" title="run ${esc(run.run_id)}">${esc(run.agent_label)}</a></th>
<td>${esc(run.project_key)}</td>
<td class="text">${esc(run.summary ?? '–')}</td>
<td>${esc(run.model ?? '–')}</td>
<td><time datetime="${esc(run.started_at)}" title="${esc(run.started_at)}">${esc(duration(now - started))} ago</time></td>
<td class="num">${esc(duration(ended - started))}</td>
<td class="num">${esc(run.totals.total_tokens.toLocaleString('en-US'))}</td>
<td class="num">$${esc(run.totals.cost_usd.toFixed(4))}</td>
<td class="num${run.failures > 0 ? ' fail' : ''}">${esc(run.failures)}</td>
<td><span class="status s-${esc(run.status)}">${esc(run.status)}</span></td>
<td class="text reason">${esc(run.reason ?? '–')}</td>
<td class="trace">${traceCell(run)}</td></tr>`;
}

function table(t: RunTable, now: number): string {
  const ths = COLUMNS.map((h) => `<th scope="col"${NUMERIC.has(h) ? ' class="num"' : ''}>${h}</th>`).join('');
  const body = t.runs.length
    ? t.runs.map((r) => row(r, now)).join('\n')
    : `<tr><td colspan="${COLUMNS.length}" class="empty">No runs.</td></tr>`;
  const caption = `${esc(t.caption)} (${t.runs.length}${t.more ? '+' : ''})`;
  return `<table id="${esc(t.id)}"><caption>${caption}</caption><thead><tr>${ths}</tr></thead><tbody>${body}</tbody></table>`;
}

/** Copy buttons (delegated, so rows a refresh brings in work too). */
export const COPY_SCRIPT = `
document.addEventListener('click',function(e){
  var b=e.target&&e.target.closest&&e.target.closest('button.copy');if(!b)return;
  navigator.clipboard.writeText(b.getAttribute('data-copy')).then(function(){b.textContent='Copied';},function(){b.textContent='Select and copy';});
});`;

// The refresh asks for the runs region only (x-oprelay-fragment): a whole page parsed here would
// carry a <style> whose nonce is not this page's, which the browser reports as a CSP violation.
const REFRESH_SCRIPT = `
(function(){
  var box=document.getElementById('auto');var region=document.getElementById('runs');var stamp=document.getElementById('updated');
  var every=Number(region.getAttribute('data-refresh'))*1000;
  async function tick(){
    if(!box.checked||document.hidden)return;
    try{
      var r=await fetch(location.href,{credentials:'same-origin',headers:{accept:'text/html','x-oprelay-fragment':'runs'}});
      if(r.status===401){location.reload();return;}
      if(!r.ok)return;
      var doc=new DOMParser().parseFromString(await r.text(),'text/html');
      var next=doc.getElementById('runs');var at=doc.getElementById('updated');
      if(next)region.innerHTML=next.innerHTML;
      if(at)stamp.textContent=at.textContent;
    }catch(e){stamp.textContent='refresh failed, retrying';}
  }
  setInterval(tick,every);
})();`;

function stampOf(now: number): string {
  return `${new Date(now).toISOString().slice(11, 19)} UTC`;
}

/** What a refresh fetches: the runs region and the time stamp, no style or script. */
export function renderRunsFragment(m: PageModel): string {
  return `<span id="updated">${esc(stampOf(m.now))}</span><div id="runs" data-refresh="${m.refreshSeconds}">${m.tables.map((t) => table(t, m.now)).join('\n')}</div>`;
}

export function renderRunsPage(m: PageModel): string {
  const opts = ['', ...STATUSES]
    .map((s) => `<option value="${s}"${s === m.status ? ' selected' : ''}>${s || 'any status'}</option>`)
    .join('');
  const signOut = m.signedIn
    ? `<form method="post" action="/session/end"><button class="secondary" type="submit">Forget key</button></form>`
    : '';
  const body = `<header><h1>oprelay · live runs</h1>
<p class="meta">Updated <span id="updated">${esc(stampOf(m.now))}</span>. Read-only view; tool calls need an API key header.</p>${signOut}</header>
<main>
<form class="filters" method="get" action="/" role="search" aria-label="Filter runs">
<label for="f-project">Project<input id="f-project" name="project" list="projects" maxlength="128" value="${esc(m.project)}" placeholder="all projects"></label>
<datalist id="projects">${m.projects.map((p) => `<option value="${esc(p)}"></option>`).join('')}</datalist>
<label for="f-status">Status<select id="f-status" name="status">${opts}</select></label>
<button type="submit">Apply filters</button>
<a href="/">Clear</a>
<label class="inline" for="auto"><input type="checkbox" id="auto" checked> Auto-refresh every ${m.refreshSeconds} s</label>
</form>
${m.error ? `<p class="error" role="alert">${esc(m.error)}</p>` : ''}
<div id="runs" data-refresh="${m.refreshSeconds}">${m.tables.map((t) => table(t, m.now)).join('\n')}</div>
</main>`;
  return layout('Live runs · oprelay-bridge', m.nonce, body, REFRESH_SCRIPT + COPY_SCRIPT);
}

export function renderKeyForm(nonce: string, message?: string): string {
  const body = `<main><form class="login" method="post" action="/session">
<h1>oprelay · live runs</h1>
<p>This bridge needs an API key. The key is kept in an HttpOnly cookie in this browser and only lets it read runs of the key's projects; it never authorises tool calls.</p>
${message ? `<p class="error" role="alert">${esc(message)}</p>` : ''}
<label for="key">API key<input id="key" name="key" type="password" autocomplete="off" required maxlength="512"></label>
<button type="submit">Show runs</button>
</form></main>`;
  return layout('Sign in · oprelay-bridge', nonce, body);
}
