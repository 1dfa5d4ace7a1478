import { randomBytes } from 'node:crypto';
import express, { Router, type Request, type Response } from 'express';
import type { KeyRing, Principal } from '../auth/api-keys.js';
import type { Extension } from './extension.js';
import type { RunRecord } from '../runs/model.js';
import { RunQueries } from '../runs/run-queries.js';
import type { RunService } from '../runs/run-service.js';
import type { RunStore } from '../store/run-store.js';
import { bearerOf } from './auth.js';
import { STATUSES, renderKeyForm, renderRunsFragment, renderRunsPage, type RunTable } from './live-page-html.js';
import { renderRunDetail, renderRunMissing } from './live-run-html.js';
import { toLiveRun } from './live-run.js';
import { uuid } from '../tools/schemas.js';

const COOKIE = 'oprelay_key';
const COOKIE_MAX_AGE_S = 12 * 3600;
const RUNNING_LIMIT = 100;
const RECENT_LIMIT = 50;

type Status = (typeof STATUSES)[number];

interface LivePageDeps {
  keys: KeyRing;
  store: Pick<RunStore, 'listRuns' | 'activeRuns' | 'getRun' | 'usageSummary' | 'failedRuns' | 'usageTimeline'>;
  service: RunService;
}

/** Who may see the page; `denied` when keys exist and none (or a bad one) was presented. */
type Access = { principal: Principal | undefined; signedIn: boolean } | { denied: string | undefined };

function cookieOf(req: Request): string | undefined {
  const m = /(?:^|;\s*)oprelay_key=([^;]+)/.exec(req.get('cookie') ?? '');
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return undefined;
  }
}

async function access(keys: KeyRing, req: Request): Promise<Access> {
  if (!(await keys.enabled())) return { principal: undefined, signedIn: false };
  const bearer = bearerOf(req.get('authorization'));
  const presented = bearer ?? cookieOf(req);
  if (!presented) return { denied: undefined };
  const principal = await keys.authenticate(presented, req.socket.remoteAddress ?? 'unknown');
  if (!principal) return { denied: 'The saved API key is unknown or was revoked. Enter a valid key.' };
  return { principal, signedIn: bearer === undefined };
}

function send(res: Response, status: number, html: string, nonce: string): void {
  res
    .status(status)
    .set({
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      // not no-referrer: browsers then send `Origin: null` with the key form, which sameOrigin() refuses
      'referrer-policy': 'same-origin',
      'content-security-policy': `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
    })
    .send(html);
}

function cookie(req: Request, value: string, maxAge: number): string {
  const secure = req.secure ? '; Secure' : '';
  return `${COOKIE}=${encodeURIComponent(value)}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${secure}`;
}

/** A login form posted from another site could pin a victim's browser to the attacker's key. */
function sameOrigin(req: Request): boolean {
  const origin = req.get('origin');
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.get('host');
  } catch {
    return false;
  }
}

function one(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function scopeOf(principal: Principal | undefined): string[] | undefined {
  return principal && !principal.projects.includes('*') ? [...principal.projects] : undefined;
}

async function tables(d: LivePageDeps, principal: Principal | undefined, project: string, status: Status | '') {
  const base = { projects: scopeOf(principal), project_key: project || undefined, sort: 'started_at' as const };
  const page = (s: Status, limit: number) => d.store.listRuns({ ...base, status: s, limit });
  const live = (runs: RunRecord[]) => runs.map((r) => toLiveRun(r, d.service.view(r)));
  if (status) {
    const p = await page(status, RUNNING_LIMIT);
    return [{ id: 'runs-filtered', caption: `Runs with status ${status}, newest first`, runs: live(p.runs), more: p.next_cursor !== null }];
  }
  const running = await page('running', RUNNING_LIMIT);
  // each run in one table: running ones above, the newest of every ended status below
  const ended = await Promise.all((['completed', 'failed', 'interrupted'] as const).map((s) => page(s, RECENT_LIMIT)));
  const recent = ended.flatMap((p) => p.runs).sort((a, b) => b.started_at - a.started_at || (a.run_id < b.run_id ? 1 : -1));
  const tables: RunTable[] = [
    { id: 'runs-running', caption: 'Running now, newest first', runs: live(running.runs), more: running.next_cursor !== null },
    {
      id: 'runs-recent',
      caption: 'Recently ended, newest first',
      runs: live(recent.slice(0, RECENT_LIMIT)),
      more: recent.length > RECENT_LIMIT || ended.some((p) => p.next_cursor !== null),
    },
  ];
  return tables;
}

async function knownProjects(d: LivePageDeps, principal: Principal | undefined): Promise<string[]> {
  const active = [...(await d.store.activeRuns()).keys()];
  const scoped = scopeOf(principal) ?? active;
  return [...new Set(scoped)].sort();
}

/**
 * The live runs page at `/` (docs/architecture.md#runs-api-and-live-page): runs in flight and recent ones, server-rendered.
 * Mounted public because its key form must be reachable without a key; it checks keys itself
 * (Bearer header or the `oprelay_key` cookie that POST /session sets) and scopes runs like
 * GET /v1/runs. The cookie is honoured for reads only: tool routes never accept it.
 */
export function livePageRouter(d: LivePageDeps, refreshSeconds = 5): Router {
  const r = Router();
  const form = express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 4 });

  r.get('/', async (req, res) => {
    const nonce = randomBytes(16).toString('base64');
    const who = await access(d.keys, req);
    if ('denied' in who) return send(res, 401, renderKeyForm(nonce, who.denied), nonce);
    const project = one(req.query.project).trim();
    const rawStatus = one(req.query.status);
    const status = (STATUSES as readonly string[]).includes(rawStatus) ? (rawStatus as Status) : '';
    const errors: string[] = [];
    if (rawStatus && !status) errors.push(`status: must be one of ${STATUSES.join(', ')} (got "${rawStatus.slice(0, 40)}")`);
    if (project.length > 128) errors.push('project: must be at most 128 characters');
    const refresh = Number(one(req.query.refresh)) || refreshSeconds;
    const model = {
      nonce,
      now: Date.now(),
      project: project.slice(0, 128),
      status,
      refreshSeconds: Math.min(60, Math.max(1, Math.round(refresh))),
      signedIn: who.signedIn,
      projects: await knownProjects(d, who.principal),
      tables: errors.length ? [] : await tables(d, who.principal, project, status),
      error: errors.join('; ') || undefined,
    };
    const fragment = req.get('x-oprelay-fragment') === 'runs';
    send(res, errors.length ? 400 : 200, fragment ? renderRunsFragment(model) : renderRunsPage(model), nonce);
  });

  const queries = new RunQueries(d.store, d.service);
  r.get('/runs/:run_id', async (req, res) => {
    const nonce = randomBytes(16).toString('base64');
    const who = await access(d.keys, req);
    if ('denied' in who) return send(res, 401, renderKeyForm(nonce, who.denied), nonce);
    const id = uuid.safeParse(req.params.run_id);
    const run = id.success ? await d.store.getRun(id.data) : null;
    const scope = scopeOf(who.principal);
    if (!run || (scope && !scope.includes(run.project_key)))
      return send(res, 404, renderRunMissing(nonce, String(req.params.run_id).slice(0, 64)), nonce);
    // what get_run answers, with the caller's projects (child runs of other projects stay hidden)
    const detail = await queries.getRun(run.run_id, { projects: scope });
    send(res, 200, renderRunDetail(nonce, toLiveRun(run, d.service.view(run)), detail, Date.now()), nonce);
  });

  r.post('/session', form, async (req, res) => {
    const nonce = randomBytes(16).toString('base64');
    if (!sameOrigin(req)) return send(res, 403, renderKeyForm(nonce, 'This form must be sent from this page.'), nonce);
    const key = one((req.body as Record<string, unknown> | undefined)?.key).trim();
    const principal = key ? await d.keys.authenticate(key, req.socket.remoteAddress ?? 'unknown') : undefined;
    if (!principal) return send(res, 401, renderKeyForm(nonce, 'Unknown or revoked API key.'), nonce);
    res.set('set-cookie', cookie(req, key, COOKIE_MAX_AGE_S)).redirect(303, '/');
  });

  r.post('/session/end', (req, res) => {
    res.set('set-cookie', cookie(req, '', 0)).redirect(303, '/');
  });

  return r;
}

export const livePageExtension: Extension = async (parts) => [
  { path: '/', handler: livePageRouter({ keys: parts.keys, store: parts.store, service: parts.service }), public: true },
];
