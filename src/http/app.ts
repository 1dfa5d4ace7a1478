import express, { type Express, type RequestHandler } from 'express';
import type { KeyRing } from '../auth/api-keys.js';
import { BridgeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { RunService } from '../runs/run-service.js';
import type { RunStore } from '../store/run-store.js';
import type { RunMetrics } from '../telemetry/run-metrics.js';
import { LIMITS } from '../tools/limits.js';
import type { ToolGateway } from '../tools/gateway.js';
import { authenticate, requireWildcard } from './auth.js';
import { errorHandler } from './error-handler.js';
import type { RateLimiter } from './rate-limit.js';
import { callContext, runsRouter } from './runs-routes.js';

export interface AppDeps {
  service: RunService;
  gateway: ToolGateway;
  store: RunStore;
  metrics: RunMetrics;
  keys: KeyRing;
  limiter: RateLimiter;
  log: Logger;
  isDraining: () => boolean;
  /** extra routers mounted after auth (MCP at /mcp, the live page) */
  extra?: { path: string; handler: RequestHandler | express.Router; public?: boolean }[];
}

const jsonBody = express.json({ limit: LIMITS.bodyBytes, type: () => true, strict: true });

function requireJson(req: express.Request): void {
  if (!req.is('application/json'))
    throw new BridgeError('unsupported_media_type', `body: Content-Type must be application/json (got ${req.get('content-type') ?? 'none'})`);
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

  app.post('/v1/tools/:tool', auth, (req, _res, next) => {
    try {
      requireJson(req);
      next();
    } catch (err) {
      next(err);
    }
  }, jsonBody, async (req, res) => {
    const idem = req.get('idempotency-key');
    if (idem !== undefined && (idem.length === 0 || idem.length > LIMITS.idempotencyKey))
      throw new BridgeError('invalid_argument', `Idempotency-Key header: must be 1 to ${LIMITS.idempotencyKey} characters`, [
        { path: 'Idempotency-Key', message: 'bad length', limit: LIMITS.idempotencyKey },
      ]);
    const result = await d.gateway.call(String(req.params.tool), req.body, {
      ...callContext(req),
      traceparent: req.get('traceparent'),
      idempotencyKey: idem,
    });
    res.json({ result });
  });
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
