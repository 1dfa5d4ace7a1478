import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config.js';
import { ROOT } from '../../support/bridge-process.js';
import { httpOk, PeerProcess, peerBinary } from './peer-process.js';

/** The launcher that runs `phoenix serve` with the OTLP/gRPC receiver off (it binds every interface otherwise). */
const LAUNCHER = join(ROOT, 'test/e2e/support/phoenix-serve.py');

/**
 * Arize Phoenix from the virtualenv scripts/phoenix-env.sh built, on 127.0.0.1:`port` (UI, REST,
 * GraphQL and OTLP/HTTP at /v1/traces), its SQLite database in `workingDir`.
 */
export function phoenixPeer(port: number, workingDir: string): { process: PeerProcess; api: PhoenixApi } {
  const api = new PhoenixApi(`http://127.0.0.1:${port}`);
  const process = new PeerProcess(
    'phoenix',
    peerBinary('phoenix-venv/bin/python'),
    [LAUNCHER],
    {
      PHOENIX_HOST: '127.0.0.1',
      PHOENIX_PORT: String(port),
      PHOENIX_WORKING_DIR: workingDir,
      PHOENIX_TELEMETRY_ENABLED: 'false',
    },
    () => httpOk(`${api.url}/healthz`),
  );
  return { process, api };
}

export interface PhoenixSpan {
  name: string;
  context: { trace_id: string; span_id: string };
  span_kind: string;
  parent_id: string | null;
  status_code: string;
  status_message: string;
  attributes: Record<string, unknown>;
  events: { name: string; attributes: Record<string, unknown> }[];
}

export interface PhoenixSession {
  session_id: string;
  traces: { trace_id: string }[];
}

/** A project's token and cost figures as Phoenix computes them (GraphQL `Project`). */
export interface PhoenixProjectUsage {
  tokenCountPrompt: number;
  tokenCountCompletion: number;
  tokenCountTotal: number;
  costSummary: { prompt: { cost: number | null }; completion: { cost: number | null }; total: { cost: number | null } };
}

/** A trace's figures as Phoenix shows them: its root's cumulative token counts and its cost summary. */
export interface PhoenixTraceUsage {
  project: string;
  rootSpan: { name: string; cumulativeTokenCountPrompt: number; cumulativeTokenCountCompletion: number } | null;
  costSummary: { total: { tokens: number | null; cost: number | null } };
}

/** Phoenix's own read APIs: REST under /v1 and GraphQL at /graphql. */
export class PhoenixApi {
  constructor(readonly url: string) {}

  private async getJson<T>(path: string): Promise<T> {
    const response = await fetch(`${this.url}${path}`, { signal: AbortSignal.timeout(10_000) });
    const text = await response.text();
    if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  }

  /** Every page of a cursor-paginated list (`{data, next_cursor}`). */
  private async pages<T>(path: string, limit: number): Promise<T[]> {
    const all: T[] = [];
    let cursor: string | null = null;
    do {
      const separator = path.includes('?') ? '&' : '?';
      const query: string = `${separator}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page: { data: T[]; next_cursor: string | null } = await this.getJson(`${path}${query}`);
      all.push(...page.data);
      cursor = page.next_cursor;
    } while (cursor);
    return all;
  }

  async projectNames(): Promise<string[]> {
    const projects = await this.pages<{ name: string }>('/v1/projects', 100);
    return projects.map((project) => project.name);
  }

  /** A project's spans, or [] while the project does not exist yet. */
  async spans(project: string): Promise<PhoenixSpan[]> {
    if (!(await this.projectNames()).includes(project)) return [];
    return this.pages<PhoenixSpan>(`/v1/projects/${encodeURIComponent(project)}/spans`, 1000);
  }

  async sessions(project: string): Promise<PhoenixSession[]> {
    return this.pages<PhoenixSession>(`/v1/projects/${encodeURIComponent(project)}/sessions`, 100);
  }

  async graphql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const response = await fetch(`${this.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await response.json()) as { data?: T; errors?: unknown[] };
    if (!response.ok || body.errors) throw new Error(`POST /graphql: ${response.status} ${JSON.stringify(body.errors)}`);
    return body.data as T;
  }

  /** Token counts and cost Phoenix shows for a project (its own sums over LLM spans and its price table). */
  async projectUsage(project: string): Promise<PhoenixProjectUsage> {
    const data = await this.graphql<{ projects: { edges: { node: PhoenixProjectUsage & { name: string } }[] } }>(`{
      projects { edges { node { name tokenCountPrompt tokenCountCompletion tokenCountTotal
        costSummary { prompt { cost } completion { cost } total { cost } } } } }
    }`);
    const node = data.projects.edges.find((edge) => edge.node.name === project)?.node;
    if (!node) throw new Error(`Phoenix has no project ${project}`);
    return node;
  }

  /**
   * Adds a price for `model` to Phoenix's own table (what Settings → Models does), so Phoenix's cost
   * column prices the model's LLM spans. Phoenix's model store picks it up within 5 s.
   */
  async addModelPrice(model: string, inputPerMillion: number, outputPerMillion: number): Promise<void> {
    await this.graphql(`mutation ($input: CreateModelMutationInput!) { createModel(input: $input) { model { name } } }`, {
      input: {
        name: model,
        namePattern: `^${model}$`,
        costs: [
          { tokenType: 'input', kind: 'PROMPT', costPerMillionTokens: inputPerMillion },
          { tokenType: 'output', kind: 'COMPLETION', costPerMillionTokens: outputPerMillion },
        ],
      },
    });
  }

  /** The trace's token and cost figures, in whichever project Phoenix put it. */
  async traceUsage(traceId: string): Promise<PhoenixTraceUsage> {
    type Node = { name: string; trace: Omit<PhoenixTraceUsage, 'project'> | null };
    const data = await this.graphql<{ projects: { edges: { node: Node }[] } }>(
      `query ($traceId: ID!) { projects { edges { node { name trace(traceId: $traceId) {
        rootSpan { name cumulativeTokenCountPrompt cumulativeTokenCountCompletion }
        costSummary { total { tokens cost } } } } } } }`,
      { traceId },
    );
    const node = data.projects.edges.find((edge) => edge.node.trace !== null)?.node;
    if (!node?.trace) throw new Error(`Phoenix has no trace ${traceId}`);
    return { project: node.name, ...node.trace };
  }
}

/**
 * The bridge settings docs/operations.md gives for a self-hosted Phoenix (the `NAME=value` code
 * spans of its table row), with the endpoint's origin pointed at `phoenixUrl`; settings with a
 * placeholder (`<key>`, for Phoenix Cloud) are left out; what the row leaves unset keeps the
 * bridge's default.
 */
export function documentedPhoenixSettings(phoenixUrl: string): Record<string, string> {
  const doc = readFileSync(join(ROOT, 'docs/operations.md'), 'utf8');
  const row = doc.split('\n').find((line) => /^\|[^|]*Phoenix/.test(line) && !/^\|[^|]*Cloud/.test(line));
  if (!row) throw new Error('docs/operations.md has no table row for Phoenix');
  const settings: Record<string, string> = {};
  for (const [, name, value] of row.matchAll(/`([A-Z][A-Z0-9_]*)=([^`]+)`/g)) {
    if (value!.includes('<')) continue;
    settings[name!] = name!.endsWith('_ENDPOINT') ? phoenixUrl + new URL(value!).pathname.replace(/\/$/, '') : value!;
  }
  if (!Object.keys(settings).some((name) => name.endsWith('_ENDPOINT'))) {
    throw new Error(`docs/operations.md's Phoenix row names no endpoint: ${row}`);
  }
  // the test bridge's own default is Prometheus only: spell out what the bridge's default does instead
  const { metrics } = loadConfig(settings);
  settings.OTEL_METRICS_EXPORTER = [metrics.otlp && 'otlp', metrics.prometheus && 'prometheus'].filter(Boolean).join(',') || 'none';
  return settings;
}

/** A span attribute as a number (Phoenix returns integers and floats as JSON numbers). */
export function numberAttribute(span: PhoenixSpan, key: string): number | undefined {
  const value = span.attributes[key];
  return typeof value === 'number' ? value : undefined;
}

/** Sum of a numeric attribute over spans (absent counts as 0). */
export function sumAttribute(spans: PhoenixSpan[], key: string): number {
  return spans.reduce((sum, span) => sum + (numberAttribute(span, key) ?? 0), 0);
}
