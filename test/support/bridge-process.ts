import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const CLI = join(ROOT, 'dist/cli.js');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export function tempDir(prefix = 'oprelay-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A real bridge process (`node dist/cli.js serve`) on 127.0.0.1, with its logs kept for assertions. */
export class BridgeProcess {
  child!: ChildProcess;
  readonly logs: string[] = [];
  url = '';
  exitCode: number | null = null;
  private exited!: Promise<number | null>;

  constructor(
    readonly env: Record<string, string>,
    readonly dataDir: string,
    /** options for node itself, before the script (e.g. --cpu-prof, which NODE_OPTIONS refuses) */
    readonly nodeArgs: string[] = [],
  ) {}

  /** Starts a bridge; env overrides the test defaults (sqlite in dataDir, fast export interval). */
  static async start(env: Record<string, string> = {}, dataDir = tempDir(), nodeArgs: string[] = []): Promise<BridgeProcess> {
    const b = new BridgeProcess(env, dataDir, nodeArgs);
    await b.spawn();
    return b;
  }

  async spawn(): Promise<void> {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
    const port = this.env.BRIDGE_PORT ?? String(await freePort());
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      BRIDGE_HOST: '127.0.0.1',
      BRIDGE_DATA_DIR: this.dataDir,
      BRIDGE_EXPORT_INTERVAL_MS: '50',
      BRIDGE_RETRY_MAX_BACKOFF: '500ms',
      BRIDGE_OUTBOX_LEASE: '2s',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
      OTEL_METRICS_EXPORTER: 'prometheus',
      BRIDGE_LOG_LEVEL: 'info',
      ...this.env,
      BRIDGE_PORT: port,
    };
    this.env.BRIDGE_PORT = port;
    this.url = `http://127.0.0.1:${port}`;
    this.exitCode = null;
    const child = spawn(process.execPath, [...this.nodeArgs, CLI, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const collect = (chunk: Buffer) => this.logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code) => {
        this.exitCode = code;
        resolve(code);
      }),
    );
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (this.exitCode !== null) throw new Error(`bridge exited with ${this.exitCode}:\n${this.logs.join('\n')}`);
      try {
        const r = await fetch(`${this.url}/healthz`);
        if (r.ok) return;
      } catch {
        /* not up yet */
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    throw new Error(`bridge did not become healthy:\n${this.logs.join('\n')}`);
  }

  /** POST /v1/tools/{tool}; returns status and parsed body. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async tool(tool: string, args: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
    const r = await fetch(`${this.url}/v1/tools/${tool}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(args),
    });
    return { status: r.status, body: await r.json() };
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any; text: string }> {
    const r = await fetch(`${this.url}${path}`, { headers });
    const text = await r.text();
    let body: unknown = undefined;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: r.status, body, text };
  }

  /** SIGTERM and wait for the exit code. */
  async stop(): Promise<number | null> {
    if (this.exitCode !== null) return this.exitCode;
    this.child.kill('SIGTERM');
    return this.waitExit(15_000);
  }

  async kill(): Promise<void> {
    if (this.exitCode !== null) return;
    this.child.kill('SIGKILL');
    await this.waitExit(5_000);
  }

  async waitExit(timeoutMs: number): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        reject(new Error(`bridge did not exit within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the process (if running) and removes its data directory. */
  async dispose(): Promise<void> {
    await this.kill();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** The seed's example identifiers (real UUIDs) used across tests. */
export const AGENT_ID = '6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b';
export const TASK_ID = '3e9d8c7b-6a5f-4e3d-9c2b-1a0f9e8d7c6b';

/** SIGTERM a child process and wait for it to exit (SIGKILL after 10 s). */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
