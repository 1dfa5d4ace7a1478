import type { RequestHandler, Router } from 'express';
import type { KeyRing } from '../auth/api-keys.js';
import type { Logger } from '../log.js';
import type { RunService } from '../runs/run-service.js';
import type { RunStore } from '../store/run-store.js';
import type { ToolGateway } from '../tools/gateway.js';

/** A router a feature module mounts on the app: after authentication, or public when it checks keys itself. */
export interface MountedRoute {
  path: string;
  handler: RequestHandler | Router;
  public?: boolean;
}

/** The parts of the bridge a feature module may build its routes from. */
export interface ExtensionParts {
  keys: KeyRing;
  store: RunStore;
  service: RunService;
  gateway: ToolGateway;
  log: Logger;
}

/**
 * A feature module (MCP endpoint, live runs page). It is defined here, beside the app that mounts
 * it, so feature modules never import the composition root that builds them.
 */
export type Extension = (parts: ExtensionParts) => Promise<MountedRoute[]>;
