#!/usr/bin/env node
import { runHook } from './hook/run-hook.js';
import { hookSettings } from './hook/settings.js';

const USAGE = `usage: oprelay hook   (reads a Claude Code hook event as JSON on stdin)

environment:
  OPRELAY_URL       the bridge (default http://127.0.0.1:8787)
  OPRELAY_API_KEY   sent as a Bearer token
  OPRELAY_PROJECT   project_key of the runs (default claude-code)
  OPRELAY_AGENT_ID  agent_id of the runs, a UUID (default 0c1a0de0-c0de-4c1a-8de0-0000c1a0de00)
  OPRELAY_HOME      state and spool directory (default ~/.oprelay)
  OPRELAY_HOOK_BUDGET_MS  time one call may spend on the bridge (default 3000)
`;

/** Stdin until it closes or `ms` pass: a hook runner that never closes stdin must not hang the hook. */
function readStdin(ms: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const done = () => {
      clearTimeout(timer);
      process.stdin.pause();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const timer = setTimeout(done, ms);
    process.stdin.on('data', (c: Buffer) => chunks.push(c));
    process.stdin.once('end', done);
    process.stdin.once('error', done);
  });
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] !== 'hook') {
    process.stderr.write(USAGE);
    return argv.length === 0 || argv[0] === '--help' ? 0 : 2;
  }
  const settings = hookSettings(process.env);
  // a last guard on top of the per-call timeouts: the session never waits on this hook for long
  setTimeout(() => process.exit(0), settings.budgetMs + 2500).unref();
  const input = await readStdin(1000);
  const result = await runHook(settings, input, (line) => process.stderr.write(line + '\n'));
  if (result.skipped) process.stderr.write(`oprelay hook: ${result.skipped}\n`);
  return 0; // always: a failing hook would show up in the session
}

// the exit code is the hook's answer to Claude Code; leave at once, even with sockets still open
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  () => process.exit(0),
);
