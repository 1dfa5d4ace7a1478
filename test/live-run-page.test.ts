import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { AGENT_ID, BridgeProcess, ROOT } from './support/bridge-process.js';
import { skipWhenMissing } from './support/required-service.js';

// The run page (/runs/{run_id}) in a real headless Chromium: what get_run answers — failures with
// their type, summary and error text, child runs (linked), usage reports as a timeline, the trace
// id once and a link to the trace.

const CHROMIUM = '/usr/bin/chromium';
const skipBrowser = skipWhenMissing('Chromium', existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (apt-get install -y chromium)`);
const ARTIFACTS = join(ROOT, 'test/artifacts');
const TRACE_BASE = 'http://traces.test/trace/';

describe('run page', { skip: skipBrowser }, () => {
  let browser: Browser;
  let bridge: BridgeProcess;
  let page: Page;
  const parent = randomUUID();
  const child = randomUUID();
  let traceId = '';

  before(async () => {
    bridge = await BridgeProcess.start({ BRIDGE_TRACE_URL: `${TRACE_BASE}{trace_id}`, BRIDGE_CAPTURE_CONTENT: 'true' });
    const tool = async (name: string, args: object) => {
      const r = await bridge.tool(name, args);
      assert.equal(r.status, 200, `${name}: ${JSON.stringify(r.body)}`);
      return r.body.result;
    };
    traceId = (
      await tool('core_start_run', { project_key: 'ops', agent_id: AGENT_ID, run_id: parent, meta_json: { agent_name: 'deployer' } })
    ).trace_id;
    await tool('core_report_usage', {
      run_id: parent,
      token_usage: { input_tokens: 15000, output_tokens: 5000, cost_usd: 0.5, model: 'claude-opus-4' },
    });
    await tool('core_report_usage', {
      run_id: parent,
      token_usage: { input_tokens: 1000, output_tokens: 234, cost_usd: 0.25, model: 'gpt-4o' },
    });
    await tool('core_start_run', {
      project_key: 'ops',
      agent_id: AGENT_ID,
      run_id: child,
      meta_json: { agent_name: 'verifier', parent_run_id: parent },
    });
    await tool('core_record_failure', {
      project_key: 'ops',
      run_id: parent,
      agent_id: AGENT_ID,
      summary: 'rollout stalled',
      error: 'TimeoutError: deployment/rate-limiter exceeded its progress deadline',
    });
    await tool('core_end_run', { run_id: parent, status: 'failed', summary: 'rolled back' });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await bridge?.dispose();
  });

  const cells = (selector: string) =>
    page.$$eval(`${selector} tbody tr`, (trs) => trs.map((tr) => [...tr.children].map((td) => (td as HTMLElement).innerText.trim())));

  test('shows each failure with its type, summary and error text', async () => {
    assert.equal((await page.goto(`${bridge.url}/runs/${parent}`))?.status(), 200);
    const rows = await cells('#failures');
    assert.equal(rows.length, 1);
    assert.match(rows[0]![0]!, /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual(rows[0]!.slice(1), [
      'TimeoutError',
      'rollout stalled',
      'TimeoutError: deployment/rate-limiter exceeded its progress deadline',
    ]);
    assert.equal((await page.textContent('[data-field="failures"]'))?.trim(), '1');
  });

  test('lists usage reports as a timeline, tokens formatted like the runs list', async () => {
    await page.goto(`${bridge.url}/runs/${parent}`);
    const rows = await cells('#usage');
    assert.deepEqual(
      rows.map((r) => r.slice(1)),
      [
        ['report', 'claude-opus-4', '15,000 / 5,000 / 20,000', '$0.5000', '20,000'],
        ['report', 'gpt-4o', '1,000 / 234 / 1,234', '$0.2500', '21,234'],
      ],
    );
    for (const r of rows) assert.match(r[0]!, /^\+\d+(ms|s)/);
    assert.equal((await page.textContent('[data-field="tokens"]'))?.trim(), '16,000 / 5,234 / 21,234');
  });

  test('links child runs, and the child links back to its parent', async () => {
    await page.goto(`${bridge.url}/runs/${parent}`);
    const rows = await cells('#children');
    assert.deepEqual(
      rows.map((r) => r.slice(0, 2)),
      [['verifier', 'running']],
    );
    await Promise.all([page.waitForURL(`${bridge.url}/runs/${child}`), page.click(`#children a[href="/runs/${child}"]`)]);
    assert.equal((await page.textContent('[data-field="agent"]'))?.trim(), `verifier (${AGENT_ID})`);
    assert.equal(await page.getAttribute('[data-field="parent_run_id"] a', 'href'), `/runs/${parent}`);
  });

  test('shows the trace id once, with a link to the trace', async () => {
    await page.goto(`${bridge.url}/runs/${parent}`);
    const text = await page.innerText('main');
    assert.equal(text.split(traceId).length - 1, 1, 'the trace id appears once');
    assert.equal(await page.getAttribute('[data-field="trace"] a', 'href'), `${TRACE_BASE}${traceId}`);
    await page.screenshot({ path: join(ARTIFACTS, 'run-page.png'), fullPage: true });
  });
});
