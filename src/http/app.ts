import type { RequestListener } from 'node:http';
import express, { type Express } from 'express';
import type { KeyRing } from '../auth/api-keys.js';
import { BridgeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { RunService } from '../runs/run-service.js';
import type { RunStore } from '../store/run-store.js';
import type { RunMetrics } from '../telemetry/run-metrics.js';
import type { ToolGateway } from '../tools/gateway.js';
import { authenticate, requireWildcard } from './auth.js';
import { errorHandler } from './error-handler.js';
import type { MountedRoute } from './extension.js';
import type { RateLimiter } from './rate-limit.js';
import { runsRouter } from './runs-routes.js';
import { toolCallRoute } from './tool-route.js';

export interface AppDeps {
  service: RunService;
  gateway: ToolGateway;
  store: Pick<RunStore, 'kind' | 'ping' | 'listRuns' | 'getRun' | 'usageSummary' | 'failedRuns' | 'usageTimeline'>;
  metrics: RunMetrics;
  keys: KeyRing;
  limiter: RateLimiter;
  log: Logger;
  isDraining: () => boolean;
  /** extra routers mounted after auth (MCP at /mcp, the live page) */
  extra?: MountedRoute[];
}

export function createApp(d: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/readyz', async (_req, res) => {
    if (d.isDraining()) return void res.status(503).json({ status: 'draining' });
    try {
      await d.store.ping();
      res.json({ status: 'ready', store: d.store.kind });
    } catch (err) {
      res.status(503).json({ status: 'store_unreachable', error: String(err) });
    }
  });
  for (const x of d.extra ?? []) if (x.public) app.use(x.path, x.handler);

  const auth = authenticate(d.keys, d.limiter);
  app.get('/metrics', auth, (req, res) => {
    requireWildcard(req);
    d.metrics.handlePrometheus(req, res);
  });

  // POST /v1/tools/{tool} is served by toolCallRoute() before express sees the request
  app.all('/v1/tools/:tool', (req) => {
    throw new BridgeError('method_not_allowed', `${req.method} not allowed: call tools with POST`);
  });

  app.use(auth, runsRouter(d.service, d.store));
  for (const x of d.extra ?? []) if (!x.public) app.use(x.path, auth, x.handler);

  app.use((req) => {
    throw new BridgeError('not_found', `no such endpoint: ${req.method} ${req.path}`);
  });
  app.use(errorHandler(d.log));
  return app;
}

/** The server's request listener: tool calls on their own route, everything else through express. */
export function createListener(d: AppDeps): RequestListener {
  const app = createApp(d);
  const tools = toolCallRoute({ gateway: d.gateway, keys: d.keys, limiter: d.limiter, log: d.log });
  return (req, res) => {
    if (!tools(req, res)) app(req, res);
  };
}
