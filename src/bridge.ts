import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KeyRing } from './auth/api-keys.js';
import { LoginThrottle } from './auth/login-throttle.js';
import type { Config } from './config.js';
import { ExporterDiagnostics } from './export/diag.js';
import type { Extension } from './http/extension.js';
import { createLogger, type Logger } from './log.js';
import { DataDirLock } from './store/data-dir-lock.js';
import { openStore } from './store/open-store.js';
import type { RunStore } from './store/run-store.js';
import { within } from './threads.js';
import { VERSION } from './version.js';
import { buildParts, type BridgeParts } from './wiring.js';

export interface BridgeOptions {
  log?: Logger;
  store?: RunStore;
  extensions?: Extension[];
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** The composition root: store, telemetry, relay, reaper and the HTTP app; start and stop. */
export class Bridge {
  private server: Server | undefined;
  private stopping: Promise<void> | undefined;
  private lock: DataDirLock | undefined;
  parts!: BridgeParts;

  constructor(
    readonly config: Config,
    private readonly options: BridgeOptions = {},
  ) {}

  get url(): string {
    const addr = this.server?.address() as AddressInfo | null;
    const host = this.config.host.includes(':') ? `[${this.config.host}]` : this.config.host;
    return `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${addr?.port ?? this.config.port}`;
  }

  /** Opens the store, builds the parts (src/wiring.ts), then listens and starts the relay and the reaper. */
  async start(): Promise<void> {
    const config = this.config;
    const log = this.options.log ?? createLogger(config.logLevel);
    const { store, keys } = await this.open(log);
    // OpenTelemetry diag output of this thread (the metrics exporters) goes to the bridge's log
    new ExporterDiagnostics(log).install();
    this.parts = await buildParts(config, { log, store, keys, extensions: this.options.extensions });
    await this.listen(this.parts.listener);
    this.parts.relay.start();
    this.parts.reaper.start();
    this.parts.retention?.start();
    log.info('bridge listening', {
      url: this.url,
      store: store.kind,
      otlp: config.otlp.tracesUrl,
      protocol: config.otlp.protocol,
      version: VERSION,
    });
  }

  /** The store, initialised, and its keys; refuses to go on without keys where anyone could call. */
  private async open(log: Logger): Promise<{ store: RunStore; keys: KeyRing }> {
    const config = this.config;
    // one serving bridge per SQLite file: a second one would interleave its relay and reaper with ours
    if (!this.options.store && config.store === 'sqlite') this.lock = DataDirLock.acquire(config.dataDir);
    const store = this.options.store ?? (await openStore(config));
    await store.init();
    const keys = new KeyRing(store, config.apiKeys, new LoginThrottle(config.authFailureLimit));
    await keys.load();
    if (!(await keys.enabled())) {
      if (!isLoopback(config.host) && !config.authOff) {
        await store.close();
        this.lock?.release();
        throw new Error(
          `refusing to serve without API keys on non-loopback address ${config.host}: set BRIDGE_API_KEYS or create keys with "keys create", or set BRIDGE_AUTH=off explicitly`,
        );
      }
      log.warn('no API keys configured: every caller may use every project', {
        host: config.host,
        auth: config.authOff ? 'off' : 'loopback-only',
      });
    }
    return { store, keys };
  }

  /** Serves the app on the configured host and port. */
  private async listen(listener: RequestListener): Promise<void> {
    const config = this.config;
    // slow clients: headers within 10 s, the whole request within 30 s, checked every second (Node default: 30 s)
    const server = createServer(
      { maxHeaderSize: 16 * 1024, headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1_000 },
      listener,
    );
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    this.server = server;
  }

  /** Graceful stop: refuse new calls, finish in-flight ones, flush the outbox, close the store. */
  stop(): Promise<void> {
    this.stopping ??= this.stopNow();
    return this.stopping;
  }

  /**
   * Every step is bounded by BRIDGE_SHUTDOWN_TIMEOUT, so an orchestrator's grace period is never
   * overrun (its SIGKILL would lose the store's close). The outbox flush stops a moment before the
   * deadline to leave the rest (metrics flush, store close) their share; spans left unsent stay in
   * the outbox for the next start.
   */
  private async stopNow(): Promise<void> {
    const p = this.parts;
    if (!p) return;
    const stopAt = Date.now();
    const timeout = this.config.shutdownTimeoutMs;
    // a tenth of the setting (at most 0.5 s) is left for the process to exit after stop()
    const deadline = Date.now() + timeout - Math.min(500, timeout / 10);
    const left = () => deadline - Date.now();
    const bounded = (what: string, step: Promise<unknown>, ms = left()) =>
      within(
        step.catch((e: unknown) => p.log.error(`${what} failed`, { error: String(e) })),
        ms,
      );
    // the closing steps' share: at most a fifth of the setting, at most 2 s
    const reserve = Math.min(2_000, timeout / 5);
    await bounded('drain', p.gateway.drain(), left() - reserve);
    const closed = new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeIdleConnections();
    await within(closed, left() - reserve);
    this.server?.closeAllConnections();
    await bounded('reaper stop', p.reaper.stop(), left() - reserve);
    if (p.retention) await bounded('retention stop', p.retention.stop(), left() - reserve);
    await bounded('relay stop', p.relay.stop(), left() - reserve);
    await bounded('final flush', p.relay.flush(deadline - reserve), left() - reserve);
    let outboxLeft = -1;
    await bounded(
      'outbox count',
      p.store.outboxStats(Date.now()).then((stats) => (outboxLeft = stats.depth)),
      left() - reserve / 2,
    );
    // the metrics flush and the export worker's stop run side by side in what is left; a metrics
    // flush takes milliseconds when a collector answers, so one that does not gets 2 s at most
    const closing = [bounded('metrics flush', p.metrics.shutdown(), Math.min(left() - reserve / 4, 2_000))];
    closing.push(bounded('export worker stop', p.exporter.shutdown(Math.max(0, left() - reserve / 2)), left() - reserve / 4));
    await Promise.all(closing);
    await bounded('store close', p.store.close(), left());
    this.lock?.release();
    p.log.info('bridge stopped', { outbox_left: outboxLeft, took_ms: Math.round(Date.now() - stopAt) });
  }
}
