import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { ROOT } from '../../support/bridge-process.js';

/** Where scripts/peers.sh put the built peers (the same variable and default as the script). */
export const PEERS_DIR = process.env.OPRELAY_PEERS_DIR ?? join(ROOT, '.cache/peers');

export function peerBinary(name: string): string {
  const path = join(PEERS_DIR, name);
  if (!existsSync(path)) throw new Error(`${path} is missing: run scripts/peers.sh (npm run test:e2e does)`);
  return path;
}

/** `count` distinct free loopback ports, all held open together while they are chosen so none repeats. */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      servers.push(server);
    }
    return servers.map((server) => (server.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 60_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

export async function httpOk(url: string, headers: Record<string, string> = {}): Promise<boolean> {
  try {
    const response = await fetch(url, { headers, signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * A peer program (Jaeger, the Collector, Prometheus) run as a child process on 127.0.0.1 that can
 * be stopped, killed and started again with the same arguments and environment (same ports, same
 * state directory), which is what the fault tests need.
 */
export class PeerProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  readonly logs: string[] = [];

  constructor(
    readonly name: string,
    readonly command: string,
    readonly args: string[],
    readonly env: Record<string, string>,
    /** answers true once the peer serves */
    readonly ready: () => Promise<boolean>,
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(timeoutMs = 60_000): Promise<void> {
    const child = spawn(this.command, this.args, {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const collect = (chunk: Buffer) => {
      this.logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      if (this.logs.length > 2_000) this.logs.splice(0, this.logs.length - 2_000);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    await waitFor(
      `${this.name} to become ready`,
      async () => {
        if (!this.running) throw new Error(`${this.name} exited (${child.exitCode ?? child.signalCode})`);
        return this.ready();
      },
      timeoutMs,
    ).catch((error: unknown) => {
      child.kill('SIGKILL');
      throw new Error(`${String(error)}; its last log lines:\n${this.tail(12)}`);
    });
  }

  /** SIGTERM, then SIGKILL after 15 s. */
  async stop(): Promise<void> {
    await this.signal('SIGTERM', 15_000);
  }

  /** SIGKILL: no chance to flush anything (a crash). */
  async kill(): Promise<void> {
    await this.signal('SIGKILL', 5_000);
  }

  private async signal(signal: NodeJS.Signals, graceMs: number): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  tail(lines = 30): string {
    return this.logs.slice(-lines).join('\n');
  }
}
