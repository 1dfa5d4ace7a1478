import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { AGENT_ID, BridgeProcess, ROOT } from './support/bridge-process.js';
import { skipWhenMissing } from './support/required-service.js';

// The live runs page at / (docs/architecture.md#runs-api-and-live-page) in a real browser: runs in flight, filters, auto-refresh,
// trace links, escaping, and the key form that sets the read-only cookie.

const CHROMIUM = '/usr/bin/chromium';
const skipBrowser = skipWhenMissing('Chromium', existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (apt-get install -y chromium)`);
const hasChromium = !skipBrowser;

const ARTIFACTS = join(ROOT, 'test/artifacts');
const OTHER_AGENT = '0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d';

let browser: Browser;
let traceServer: Server;
let traceBase = '';
const bridges: BridgeProcess[] = [];

async function startRun(
  bridge: BridgeProcess,
  project: string,
  cost: number,
  headers: Record<string, string> = {},
  agent = AGENT_ID,
  agentName?: string,
) {
  const meta = agentName ? { meta_json: { agent_name: agentName } } : {};
  const start = await bridge.tool('core_start_run', { project_key: project, agent_id: agent, summary: 'triage tickets', ...meta }, headers);
  assert.equal(start.status, 200, JSON.stringify(start.body));
  const { run_id: runId, trace_id: traceId } = start.body.result as { run_id: string; trace_id: string };
  const usage = await bridge.tool(
    'core_report_usage',
    { run_id: runId, token_usage: { input_tokens: 1200, output_tokens: 300, cost_usd: cost, model: 'gpt-4o' } },
    headers,
  );
  assert.equal(usage.status, 200, JSON.stringify(usage.body));
  return { runId, traceId };
}

async function endRun(bridge: BridgeProcess, runId: string, status: 'completed' | 'failed', headers: Record<string, string> = {}) {
  const r = await bridge.tool('core_end_run', { run_id: runId, status }, headers);
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

const rowSel = (table: string, runId: string) => `#${table} tr[data-run-id="${runId}"]`;

async function rowIds(page: Page, table: string): Promise<string[]> {
  return page.$$eval(`#${table} tbody tr[data-run-id]`, (trs) => trs.map((tr) => tr.getAttribute('data-run-id') ?? ''));
}

before(async () => {
  if (!hasChromium) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  traceServer = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><title>trace</title><h1>trace page ${encodeURI(req.url ?? '')}</h1>`);
  });
  await new Promise<void>((resolve) => traceServer.listen(0, '127.0.0.1', resolve));
  traceBase = `http://127.0.0.1:${(traceServer.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
    ],
  });
});

after(async () => {
  await browser?.close();
  for (const b of bridges) await b.dispose();
  await new Promise<void>((resolve) => (traceServer ? traceServer.close(() => resolve()) : resolve()));
});

describe('live runs page, no keys (loopback)', { skip: skipBrowser }, () => {
  let bridge: BridgeProcess;
  let page: Page;
  const runs: Record<string, { runId: string; traceId: string }> = {};

  before(async () => {
    bridge = await BridgeProcess.start({ BRIDGE_TRACE_URL: `${traceBase}/trace/{trace_id}` });
    bridges.push(bridge);
    runs.alpha1 = await startRun(bridge, 'alpha', 0.1234, {}, AGENT_ID, 'triage-bot');
    runs.alpha2 = await startRun(bridge, 'alpha', 1.5, {}, OTHER_AGENT);
    runs.beta = await startRun(bridge, 'beta', 0.02, {}, AGENT_ID, 'billing-agent');
    const failure = await bridge.tool('core_record_failure', {
      project_key: 'beta',
      run_id: runs.beta.runId,
      agent_id: AGENT_ID,
      summary: 'tool crashed',
      error: 'TimeoutError: upstream',
    });
    assert.equal(failure.status, 200, JSON.stringify(failure.body));
    const endBeta = await bridge.tool('core_end_run', {
      run_id: runs.beta.runId,
      status: 'failed',
      summary: 'gave up after the upstream timeout',
    });
    assert.equal(endBeta.status, 200, JSON.stringify(endBeta.body));
    runs.gamma = await startRun(bridge, 'gamma', 0.75);
    await endRun(bridge, runs.gamma.runId, 'completed');
    runs.evil = await startRun(bridge, '<img src=x onerror="window.__xss=1">', 0);
    page = await browser.newPage({ viewport: { width: 1366, height: 800 } });
  });

  test('running runs in one table, ended ones in the other: agent name, summary, model, age, tokens, cost, status', async () => {
    const res = await page.goto(`${bridge.url}/`);
    assert.equal(res?.status(), 200);
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.deepEqual(new Set(await rowIds(page, 'runs-running')), new Set([runs.alpha1.runId, runs.alpha2.runId, runs.evil.runId]));
    assert.deepEqual(new Set(await rowIds(page, 'runs-recent')), new Set([runs.beta.runId, runs.gamma.runId]), 'only ended runs');
    assert.match((await page.textContent('#runs-recent caption')) ?? '', /Recently ended/);
    const cells = await page.$$eval(`${rowSel('runs-running', runs.alpha1.runId)} > *`, (tds) =>
      tds.map((td) => (td as HTMLElement).innerText.trim()),
    );
    assert.deepEqual(cells.slice(0, 4), ['triage-bot', 'alpha', 'triage tickets', 'gpt-4o']);
    assert.match(cells[4], /^\d+s ago$/);
    assert.deepEqual(cells.slice(6, 10), ['1,500', '$0.1234', '0', 'running']);
    // without meta_json.agent_name the agent id's prefix stands in
    const unnamed = await page.$$eval(`${rowSel('runs-running', runs.alpha2.runId)} > *`, (tds) =>
      tds.map((td) => (td as HTMLElement).innerText.trim()),
    );
    assert.equal(unnamed[0], `agent ${OTHER_AGENT.slice(0, 8)}`);
    // accessible table markup
    assert.match((await page.textContent('#runs-running caption')) ?? '', /Running now/);
    assert.equal(await page.$$eval('#runs-running thead th[scope="col"]', (ths) => ths.length), 12);
    assert.equal(await page.$$eval('label[for="f-project"], label[for="f-status"]', (ls) => ls.length), 2);
  });

  test('a failed run shows why it failed, in the table and in its detail view', async () => {
    await page.goto(`${bridge.url}/`);
    const beta = await page.$$eval(`${rowSel('runs-recent', runs.beta.runId)} > *`, (tds) =>
      tds.map((td) => (td as HTMLElement).innerText.trim()),
    );
    assert.deepEqual([beta[0], beta[1], beta[8], beta[9]], ['billing-agent', 'beta', '1', 'failed']);
    assert.equal(beta[10], 'TimeoutError: tool crashed');
    await Promise.all([
      page.waitForURL(`${bridge.url}/runs/${runs.beta.runId}`),
      page.click(`${rowSel('runs-recent', runs.beta.runId)} a.run`),
    ]);
    const detail = async (name: string) => (await page.textContent(`[data-field="${name}"]`))?.trim();
    assert.equal(await detail('agent'), `billing-agent (${AGENT_ID})`);
    assert.equal(await detail('status'), 'failed');
    assert.equal(await detail('failure'), 'TimeoutError: tool crashed');
    assert.equal(await detail('end_summary'), 'gave up after the upstream timeout');
    assert.equal(await detail('summary'), 'triage tickets');
    assert.equal(await detail('models'), 'gpt-4o');
    assert.equal(await detail('cost'), '$0.0200');
    assert.match((await detail('trace')) ?? '', new RegExp(runs.beta.traceId));
    await page.screenshot({ path: join(ARTIFACTS, 'live-page-run.png'), fullPage: true });
    assert.ok(existsSync(join(ARTIFACTS, 'live-page-run.png')));
    const missing = await page.goto(`${bridge.url}/runs/00000000-0000-4000-8000-000000000001`);
    assert.equal(missing?.status(), 404);
    assert.match((await page.textContent('[role="alert"]')) ?? '', /No run 00000000-0000-4000-8000-000000000001/);
  });

  test('escapes what agents send: a project key with markup is shown as text', async () => {
    await page.goto(`${bridge.url}/`);
    const cell = page.locator(`${rowSel('runs-running', runs.evil.runId)} td`).first();
    assert.equal((await cell.innerText()).trim(), '<img src=x onerror="window.__xss=1">');
    assert.equal(await page.locator('#runs img').count(), 0);
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
  });

  test('filters by project and by status with the form', async () => {
    await page.goto(`${bridge.url}/`);
    await page.fill('#f-project', 'alpha');
    await Promise.all([page.waitForURL(/project=alpha/), page.click('button[type="submit"]')]);
    assert.deepEqual(new Set(await rowIds(page, 'runs-running')), new Set([runs.alpha1.runId, runs.alpha2.runId]));
    assert.deepEqual(await rowIds(page, 'runs-recent'), []);

    await page.fill('#f-project', '');
    await page.selectOption('#f-status', 'failed');
    await Promise.all([page.waitForURL(/status=failed/), page.click('button[type="submit"]')]);
    assert.deepEqual(await rowIds(page, 'runs-filtered'), [runs.beta.runId]);
    assert.equal(await page.locator('#runs-running').count(), 0);

    await page.fill('#f-project', 'gamma');
    await page.selectOption('#f-status', 'completed');
    await Promise.all([page.waitForURL(/project=gamma.*status=completed/), page.click('button[type="submit"]')]);
    assert.deepEqual(await rowIds(page, 'runs-filtered'), [runs.gamma.runId]);

    const bad = await page.goto(`${bridge.url}/?status=done`);
    assert.equal(bad?.status(), 400);
    assert.match((await page.textContent('[role="alert"]')) ?? '', /status: must be one of/);
  });

  test('auto-refresh shows a run end without reloading the page, with no CSP error in the console', async () => {
    const consoleErrors: string[] = [];
    const onConsole = (m: { type(): string; text(): string }) => void (m.type() === 'error' && consoleErrors.push(m.text()));
    page.on('console', onConsole);
    try {
      await page.goto(`${bridge.url}/?refresh=1`);
      await page.waitForSelector(rowSel('runs-running', runs.alpha2.runId));
      await page.evaluate(() => {
        const w = window as unknown as { __sameDocument: boolean; __csp: string[] };
        w.__sameDocument = true;
        w.__csp = [];
        document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
      });
      await endRun(bridge, runs.alpha2.runId, 'completed');
      await page.waitForSelector(`${rowSel('runs-recent', runs.alpha2.runId)}[data-status="completed"]`, { timeout: 10_000 });
      assert.equal(await page.locator(rowSel('runs-running', runs.alpha2.runId)).count(), 0);
      // one more refresh after that one, so at least two have run in this document
      const stamp = await page.textContent('#updated');
      await page.waitForFunction((before) => document.getElementById('updated')?.textContent !== before, stamp, { timeout: 10_000 });
      assert.equal(
        await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument),
        true,
        'refreshed in place',
      );
      assert.deepEqual(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp), [], 'no CSP violation');
      assert.deepEqual(consoleErrors, [], 'no console error across refreshes');
    } finally {
      page.off('console', onConsole);
    }
  });

  test('keeps a full-page PNG screenshot of the page as this run saw it, showing names, summaries and reasons, for review', async () => {
    const shot = join(ARTIFACTS, 'live-page.png');
    rmSync(shot, { force: true }); // a file left by an earlier run must not pass for this one
    const started: string[] = [];
    for (let i = 0; i < 4; i++)
      started.push((await startRun(bridge, `checkout-${i % 2}`, 0.05 * (i + 1), {}, AGENT_ID, `checkout-agent-${i}`)).runId);
    await page.goto(`${bridge.url}/`);
    for (const runId of started) await page.waitForSelector(rowSel('runs-running', runId));
    const { width, height } = await page.evaluate(() => ({
      width: document.documentElement.scrollWidth,
      height: document.documentElement.scrollHeight,
    }));
    const taken = await page.screenshot({ path: shot, fullPage: true });
    const png = readFileSync(shot);
    assert.ok(png.equals(taken), 'the file holds the screenshot just taken');
    assert.equal(png.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', 'PNG signature');
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [width, height], 'IHDR size is the whole page');
    const shown = await page.innerText('#runs');
    for (const text of ['checkout-agent-3', 'triage-bot', 'triage tickets', 'gpt-4o', 'TimeoutError: tool crashed'])
      assert.ok(shown.includes(text), `the page shows ${text}`);
  });

  test('a trace link opens the run in the trace UI (BRIDGE_TRACE_URL)', async () => {
    await page.goto(`${bridge.url}/?project=gamma`);
    await Promise.all([
      page.waitForURL(`${traceBase}/trace/${runs.gamma.traceId}`),
      page.click(`a[aria-label="Trace of run ${runs.gamma.runId}"]`),
    ]);
    assert.match((await page.textContent('h1')) ?? '', new RegExp(`/trace/${runs.gamma.traceId}`));
  });
});

describe('live runs page without BRIDGE_TRACE_URL', { skip: skipBrowser }, () => {
  test('shows the whole trace id, which the Copy button puts on the clipboard', async () => {
    const bridge = await BridgeProcess.start();
    bridges.push(bridge);
    const run = await startRun(bridge, 'alpha', 0.5, {}, AGENT_ID, 'triage-bot');
    const context = await browser.newContext();
    try {
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: bridge.url });
      const page = await context.newPage();
      await page.goto(`${bridge.url}/`);
      const cell = page.locator(`${rowSel('runs-running', run.runId)} td.trace`);
      assert.equal((await cell.locator('code').innerText()).trim(), run.traceId, 'all 32 hex digits');
      await cell.locator('button').click();
      await page.waitForFunction(() => document.querySelector('td.trace button')?.textContent === 'Copied');
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), run.traceId);
      await page.goto(`${bridge.url}/runs/${run.runId}`);
      assert.equal((await page.textContent('[data-field="trace"] code'))?.trim(), run.traceId);
    } finally {
      await context.close();
    }
  });
});

describe('live runs page with API keys', { skip: skipBrowser }, () => {
  const KEY_ALL = { authorization: 'Bearer key-all-123456' };
  let bridge: BridgeProcess;

  before(async () => {
    bridge = await BridgeProcess.start({ BRIDGE_API_KEYS: 'key-a-123456=proj-a;key-all-123456=*' });
    bridges.push(bridge);
  });

  test('the key form sets an HttpOnly SameSite=Strict cookie, then shows only the key’s runs', async () => {
    const a = await startRun(bridge, 'proj-a', 0.3, KEY_ALL);
    const b = await startRun(bridge, 'proj-b', 0.4, KEY_ALL);
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const first = await page.goto(`${bridge.url}/`);
      assert.equal(first?.status(), 401);
      assert.equal(await page.locator('#runs').count(), 0, 'no runs without a key');

      await page.fill('#key', 'wrong-key-000');
      await Promise.all([page.waitForLoadState(), page.click('button[type="submit"]')]);
      assert.match((await page.textContent('[role="alert"]')) ?? '', /Unknown or revoked API key/);

      await page.fill('#key', 'key-a-123456');
      await Promise.all([page.waitForURL(`${bridge.url}/`), page.click('button[type="submit"]')]);
      await page.waitForSelector(rowSel('runs-running', a.runId));
      assert.deepEqual(await rowIds(page, 'runs-running'), [a.runId]);
      assert.equal(await page.locator(`tr[data-run-id="${b.runId}"]`).count(), 0);

      const cookie = (await context.cookies()).find((c) => c.name === 'oprelay_key');
      assert.ok(cookie, 'cookie set');
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.sameSite, 'Strict');
      assert.equal(await page.evaluate(() => document.cookie), '', 'scripts cannot read the key');

      // The cookie reads runs (GET) but never authorises a tool call.
      const read = await page.evaluate(async () => (await fetch('/v1/runs')).status);
      assert.equal(read, 200);
      const call = await page.evaluate(async () => {
        const r = await fetch('/v1/tools/core_start_run', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ project_key: 'proj-a', agent_id: '6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b' }),
        });
        return { status: r.status, body: (await r.json()) as { error: { code: string } } };
      });
      assert.equal(call.status, 401);
      assert.equal(call.body.error.code, 'unauthorized');

      await Promise.all([page.waitForURL(`${bridge.url}/`), page.click('text=Forget key')]);
      assert.equal(await page.locator('#key').count(), 1, 'back to the key form');
      assert.equal(
        (await context.cookies()).find((c) => c.name === 'oprelay_key'),
        undefined,
      );
    } finally {
      await context.close();
    }
  });

  test('a key form posted from another origin is refused', async () => {
    const r = await fetch(`${bridge.url}/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.example' },
      body: 'key=key-a-123456',
      redirect: 'manual',
    });
    assert.equal(r.status, 403);
    assert.equal(r.headers.get('set-cookie'), null);
  });
});
