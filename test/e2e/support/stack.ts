import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BridgeProcess, ROOT } from '../../support/bridge-process.js';
import { JaegerApi } from './jaeger-api.js';
import { freePorts, httpOk, PeerProcess, peerBinary } from './peer-process.js';

export const COLLECTOR_CONFIG = join(ROOT, 'otel-collector.yaml');
export const JAEGER_CONFIG = join(ROOT, 'deploy/jaeger/config.yaml');

/**
 * Jaeger v2 on free loopback ports, run on the repo's deploy/jaeger/config.yaml (in-memory store);
 * `prometheusUrl` is where its Monitor tab reads span metrics (unset: the compose default, unused).
 */
export function jaegerPeer(ports: number[], prometheusUrl?: string): { process: PeerProcess; api: JaegerApi; otlpGrpc: string } {
  const [grpc, http, query, queryGrpc, health, telemetry] = ports;
  const api = new JaegerApi(`http://127.0.0.1:${query}`);
  const process = new PeerProcess(
    'jaeger',
    peerBinary('jaeger'),
    ['--config', JAEGER_CONFIG],
    {
      JAEGER_OTLP_GRPC_ENDPOINT: `127.0.0.1:${grpc}`,
      JAEGER_OTLP_HTTP_ENDPOINT: `127.0.0.1:${http}`,
      JAEGER_QUERY_HTTP_ENDPOINT: `127.0.0.1:${query}`,
      JAEGER_QUERY_GRPC_ENDPOINT: `127.0.0.1:${queryGrpc}`,
      JAEGER_HEALTH_ENDPOINT: `127.0.0.1:${health}`,
      JAEGER_TELEMETRY_HOST: '127.0.0.1',
      JAEGER_TELEMETRY_PORT: String(telemetry),
      ...(prometheusUrl ? { JAEGER_PROMETHEUS_ENDPOINT: prometheusUrl } : {}),
    },
    () => httpOk(`${api.url}/api/services`),
  );
  return { process, api, otlpGrpc: `127.0.0.1:${grpc}` };
}

/** The Collector built from peers/otelcol/manifest.yaml, run on the repo's otel-collector.yaml. */
export function collectorPeer(ports: number[], jaegerOtlpGrpc: string, storageDir: string) {
  const [grpc, http, health, prometheus, telemetry] = ports;
  const process = new PeerProcess(
    'otelcol',
    peerBinary('otelcol-oprelay'),
    ['--config', COLLECTOR_CONFIG],
    {
      OTELCOL_OTLP_GRPC_ENDPOINT: `127.0.0.1:${grpc}`,
      OTELCOL_OTLP_HTTP_ENDPOINT: `127.0.0.1:${http}`,
      OTELCOL_HEALTH_ENDPOINT: `127.0.0.1:${health}`,
      OTELCOL_PROMETHEUS_ENDPOINT: `127.0.0.1:${prometheus}`,
      OTELCOL_TELEMETRY_HOST: '127.0.0.1',
      OTELCOL_TELEMETRY_PORT: String(telemetry),
      OTELCOL_STORAGE_DIR: storageDir,
      // Span metrics reach the prometheus exporter within a second of their spans.
      OTELCOL_SPANMETRICS_FLUSH_INTERVAL: '1s',
      JAEGER_OTLP_GRPC_ENDPOINT: jaegerOtlpGrpc,
    },
    () => httpOk(`http://127.0.0.1:${health}/`),
  );
  return { process, otlpHttp: `http://127.0.0.1:${http}`, telemetryUrl: `http://127.0.0.1:${telemetry}/metrics` };
}

/** Bridge → Collector (the repo's config) → Jaeger, all on loopback, state in temp dirs. */
export class Stack {
  private constructor(
    readonly jaeger: PeerProcess,
    readonly api: JaegerApi,
    readonly collector: PeerProcess,
    readonly collectorTelemetryUrl: string,
    readonly bridge: BridgeProcess,
    private readonly dir: string,
  ) {}

  /** `prometheusUrl`: the Prometheus Jaeger's Monitor tab reads (started by the test, later). */
  static async start(bridgeEnv: Record<string, string> = {}, prometheusUrl?: string): Promise<Stack> {
    const dir = mkdtempSync(join(tmpdir(), 'oprelay-e2e-'));
    const ports = await freePorts(12);
    const jaeger = jaegerPeer(ports.slice(0, 6), prometheusUrl);
    const collector = collectorPeer(ports.slice(6, 11), jaeger.otlpGrpc, join(dir, 'otelcol-queue'));
    await jaeger.process.start();
    await collector.process.start();
    const bridge = await BridgeProcess.start(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.otlpHttp,
        BRIDGE_EXPORT_INTERVAL_MS: '100',
        BRIDGE_RETRY_MAX_BACKOFF: '1s',
        BRIDGE_TRACE_URL: `${jaeger.api.url}/trace/{trace_id}`,
        ...bridgeEnv,
        BRIDGE_PORT: String(ports[11]),
      },
      join(dir, 'bridge'),
    );
    return new Stack(jaeger.process, jaeger.api, collector.process, collector.telemetryUrl, bridge, dir);
  }

  /** Spans the bridge's relay reported as accepted by the collector (its own Prometheus counter). */
  async exportedSpans(): Promise<number> {
    return (await this.bridgeMetric('oprelay_export_spans_total{', 'result="success"')) ?? 0;
  }

  /** Rows still waiting in the bridge's outbox. */
  async outboxDepth(): Promise<number> {
    const depth = await this.bridgeMetric('oprelay_outbox_depth');
    if (depth === undefined) throw new Error('oprelay_outbox_depth is missing from /metrics');
    return depth;
  }

  /** The value of the first /metrics line that starts with `prefix` and contains `part`. */
  private async bridgeMetric(prefix: string, part = ''): Promise<number | undefined> {
    const metrics = await this.bridge.get('/metrics');
    const line = metrics.text.split('\n').find((l) => l.startsWith(prefix) && l.includes(part));
    return line === undefined ? undefined : Number(line.split(' ').pop());
  }

  async stop(): Promise<void> {
    await this.bridge.dispose();
    await this.collector.stop();
    await this.jaeger.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The last lines of every peer's log, for a failed assertion's message. */
  logs(): string {
    return [
      `--- jaeger ---\n${this.jaeger.tail()}`,
      `--- otelcol ---\n${this.collector.tail()}`,
      `--- bridge ---\n${this.bridge.logs.slice(-30).join('\n')}`,
    ].join('\n');
  }
}
