#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { createStoredKey } from './auth/api-keys.js';
import { Bridge } from './bridge.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { defaultExtensions } from './extensions.js';
import { DataDirUnusable } from './store/data-dir.js';
import { openStore } from './store/open-store.js';

const USAGE = `usage: oprelay-bridge [serve]
       oprelay-bridge keys create --project P [--project Q] [--label L] [--read-only]   (prints the key once)
       oprelay-bridge keys list
       oprelay-bridge keys revoke <id>
       oprelay-bridge outbox status [--limit N]
       oprelay-bridge outbox replay [--id N ...]
Configuration comes from the environment (BRIDGE_*, OTEL_*); see docs/configuration.md.`;

/** Signals this close to the first are the same request to stop, delivered twice. */
const SAME_SIGNAL_WINDOW_MS = 1_000;

async function serve(config: Config): Promise<void> {
  const bridge = new Bridge(config, { extensions: await defaultExtensions() });
  await bridge.start();
  let firstSignalAt: number | undefined;
  const shutdown = (signal: string) => {
    if (firstSignalAt !== undefined) {
      // Ctrl-C under `npm start` arrives twice: from the terminal (to the whole process group)
      // and forwarded by npm. That is one request to stop; a signal after the window is a second.
      if (performance.now() - firstSignalAt < SAME_SIGNAL_WINDOW_MS) return;
      process.exit(1);
    }
    firstSignalAt = performance.now();
    bridge.parts.log.info('shutting down', { signal, timeout_ms: config.shutdownTimeoutMs });
    // every step of stop() is bounded; this is the backstop should one of them not be
    setTimeout(() => {
      bridge.parts.log.error('shutdown overran BRIDGE_SHUTDOWN_TIMEOUT; exiting', { timeout_ms: config.shutdownTimeoutMs });
      process.exit(1);
    }, config.shutdownTimeoutMs + 1_000).unref();
    bridge.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        bridge.parts.log.error('shutdown failed', { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

async function withStore<T>(config: Config, fn: (store: Awaited<ReturnType<typeof openStore>>) => Promise<T>): Promise<T> {
  const store = await openStore(config);
  await store.init();
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

async function keys(config: Config, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { project: { type: 'string', multiple: true }, label: { type: 'string' }, 'read-only': { type: 'boolean' } },
  });
  const [sub, id] = positionals;
  await withStore(config, async (store) => {
    if (sub === 'create') {
      const projects = values.project ?? [];
      if (projects.length === 0) throw new UsageError('keys create needs --project P (or --project "*")');
      const scope = values['read-only'] ? 'read' : 'write';
      const created = await createStoredKey(store, projects, values.label ?? null, scope);
      process.stdout.write(`${JSON.stringify({ id: created.id, key: created.key, projects, scope })}\n`);
      process.stderr.write('store this key now: it is kept only as a hash and cannot be shown again\n');
    } else if (sub === 'list') {
      for (const k of await store.listApiKeys())
        process.stdout.write(
          `${JSON.stringify({ id: k.id, projects: k.projects, scope: k.scope, label: k.label, created_at: new Date(k.created_at).toISOString(), revoked: k.revoked_at !== null })}\n`,
        );
    } else if (sub === 'revoke') {
      if (!id) throw new UsageError('keys revoke needs the key id (see keys list)');
      if (!(await store.revokeApiKey(id, Date.now()))) throw new UsageError(`no active key with id ${id}`);
      process.stdout.write(`revoked ${id}\n`);
    } else throw new UsageError(`unknown keys command "${sub ?? ''}"`);
  });
}

async function outbox(config: Config, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { limit: { type: 'string', default: '20' }, id: { type: 'string', multiple: true } },
  });
  await withStore(config, async (store) => {
    if (positionals[0] === 'status') {
      const stats = await store.outboxStats(Date.now());
      const dead = await store.countDeadLetters();
      const letters = await store.listDeadLetters(Number(values.limit) || 20);
      process.stdout.write(
        `${JSON.stringify({ outbox_depth: stats.depth, oldest_age_s: stats.oldestAgeMs === null ? null : stats.oldestAgeMs / 1000, dead_letters: dead })}\n`,
      );
      for (const l of letters)
        process.stdout.write(
          `${JSON.stringify({ id: l.id, run_id: l.run_id, span: l.span.name, dead_at: new Date(l.dead_at).toISOString(), attempts: l.attempts, reason: l.reason })}\n`,
        );
    } else if (positionals[0] === 'replay') {
      const ids = values.id?.map(Number);
      if (ids?.some((n) => !Number.isSafeInteger(n))) throw new UsageError('--id takes dead-letter ids (numbers)');
      const moved = await store.replayDeadLetters(ids);
      process.stdout.write(`${JSON.stringify({ replayed: moved })}\n`);
    } else throw new UsageError(`unknown outbox command "${positionals[0] ?? ''}"`);
  });
}

class UsageError extends Error {}

async function main(argv: string[]): Promise<void> {
  const [cmd = 'serve', ...rest] = argv;
  if (cmd === '--help' || cmd === 'help') return void process.stdout.write(`${USAGE}\n`);
  const config = loadConfig(process.env);
  if (cmd === 'serve') return serve(config);
  if (cmd === 'keys') return keys(config, rest);
  if (cmd === 'outbox') return outbox(config, rest);
  throw new UsageError(`unknown command "${cmd}" (oprelay-bridge --help lists the commands)`);
}

/** node:util parseArgs' errors (unknown option, missing value) are usage mistakes too. */
const isArgumentError = (err: unknown) =>
  err instanceof TypeError && String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS_');

main(process.argv.slice(2)).catch((err: unknown) => {
  // one line that says what is wrong; the full usage text is one `--help` away
  if (err instanceof ConfigError || err instanceof DataDirUnusable || err instanceof UsageError || isArgumentError(err)) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  process.stderr.write(
    `${JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: 'fatal', error: err instanceof Error ? err.message : String(err) })}\n`,
  );
  process.exit(1);
});
