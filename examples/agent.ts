/**
 * An example agent doing the seed's whole flow against a running bridge:
 *   OPRELAY_URL=http://127.0.0.1:8787 OPRELAY_API_KEY=… npm run example
 */
import { randomUUID } from 'node:crypto';
import { createClient, OprelayError } from '../src/client.js';

const oprelay = createClient({ url: process.env.OPRELAY_URL ?? 'http://127.0.0.1:8787', apiKey: process.env.OPRELAY_API_KEY });
const project_key = process.env.OPRELAY_PROJECT ?? 'myproject';
const agent_id = randomUUID();

function show(step: string, value: unknown): void {
  console.log(`${step}:`, JSON.stringify(value, null, 2));
}

async function main(): Promise<void> {
  const start = await oprelay.call('core_start_run', {
    project_key,
    agent_id,
    summary: 'Deploying rate limiter to staging',
    meta_json: { agent_name: 'deploy-bot', environment: 'staging' },
  });
  show('core_start_run', start);
  const { run_id } = start;

  const t0 = Date.now() - 4_000;
  show(
    'core_report_usage',
    await oprelay.call('core_report_usage', {
      run_id,
      token_usage: { input_tokens: 8400, output_tokens: 1200, cost_usd: 0.028, model: 'claude-opus-4', llm_calls: 3 },
      traces: [
        {
          type: 'llm',
          model: 'claude-opus-4',
          input_tokens: 8400,
          output_tokens: 1200,
          started_at: new Date(t0).toISOString(),
          ended_at: new Date(t0 + 2_500).toISOString(),
        },
        { type: 'tool', tool: 'kubectl_apply', started_at: t0 + 2_600, ended_at: t0 + 3_400, status: 'ok' },
      ],
    }),
  );
  show(
    'core_report_usage',
    await oprelay.call('core_report_usage', {
      run_id,
      token_usage: { input_tokens: 4000, output_tokens: 2000, cost_usd: 0.014, model: 'claude-opus-4', llm_calls: 4 },
    }),
  );

  show(
    'core_record_failure',
    await oprelay.call('core_record_failure', {
      project_key,
      run_id,
      agent_id,
      task_id: randomUUID(),
      summary: 'Database connection timeout during migration',
      error: 'Error: connect ETIMEDOUT 10.0.0.5:5432',
      context: { migration: '0042_add_index', attempt: 2 },
    }),
  );

  show(
    'core_end_run',
    await oprelay.call('core_end_run', {
      run_id,
      status: 'completed',
      summary: 'Rate limiter deployed and verified in staging',
      token_usage: { input_tokens: 12400, output_tokens: 3200, cost_usd: 0.042, model: 'claude-opus-4', llm_calls: 7 },
    }),
  );

  show(
    'record_run',
    await oprelay.call('record_run', {
      project_key,
      agent: 'claude-opus',
      ticket: 'OPR-429',
      summary: 'Implemented project isolation. All MCP tools now enforce project_key access.',
    }),
  );

  show('GET /v1/runs/' + run_id, await oprelay.getRun(run_id));
}

main().catch((err: unknown) => {
  if (err instanceof OprelayError) console.error(`oprelay error ${err.code} (HTTP ${err.status}): ${err.message}`, err.details ?? '');
  else console.error(err);
  process.exitCode = 1;
});
