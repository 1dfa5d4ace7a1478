import { Router, type Request } from 'express';
import { z } from 'zod';
import type { CallContext, RunService } from '../runs/run-service.js';
import type { QueryStore } from '../runs/run-queries.js';
import { decodeCursor } from '../store/run-store.js';
import { projectKey, text, uuid } from '../tools/schemas.js';
import { instant } from '../tools/read-schemas.js';
import { ReadTools, parseReadArgs } from '../tools/read-tools.js';
import { invalidArgument, toDetails } from '../tools/validate.js';

export function callContext(req: Request): CallContext {
  return { projects: req.principal?.projects };
}

const RUN_STATES = ['running', 'completed', 'failed', 'interrupted'] as const;
const SORTS = ['started_at', 'cost'] as const;

const listQuery = z.strictObject({
  project_key: projectKey.optional(),
  status: z.enum(RUN_STATES, { message: `must be one of ${RUN_STATES.join(', ')}` }).optional(),
  agent_id: uuid.optional(),
  agent: text(128).min(1, { message: 'must not be empty' }).optional(),
  since: instant.optional(),
  until: instant.optional(),
  min_cost: z.coerce.number().nonnegative({ message: 'must be a non-negative number' }).optional(),
  sort: z.enum(SORTS, { message: `must be one of ${SORTS.join(', ')}` }).default('started_at'),
  limit: z.coerce
    .number()
    .int({ message: 'must be an integer' })
    .min(1, { message: 'must be at least 1' })
    .max(500, { message: 'must be at most 500' })
    .default(50),
  cursor: z
    .string()
    .refine((c) => decodeCursor(c) !== undefined, { message: 'is not a cursor this API returned' })
    .optional(),
});

/** GET /v1/runs (filtered, paginated), GET /v1/runs/{run_id} and GET /v1/usage, scoped by the caller's key. */
export function runsRouter(service: RunService, store: QueryStore): Router {
  const r = Router();
  const reads = new ReadTools(store, service);
  r.get('/v1/usage', async (req, res) => {
    res.json(await reads.queries.usageSummary(parseReadArgs('usage_summary', req.query), callContext(req)));
  });
  r.get('/v1/runs', async (req, res) => {
    const parsed = listQuery.safeParse(req.query);
    if (!parsed.success) throw invalidArgument(toDetails(parsed.error.issues, req.query));
    const q = parsed.data;
    const projects = req.principal && !req.principal.projects.includes('*') ? [...req.principal.projects] : undefined;
    const page = await store.listRuns({ ...q, projects });
    res.json({ runs: page.runs.map((run) => service.view(run)), next_cursor: page.next_cursor });
  });
  r.get('/v1/runs/:run_id', async (req, res) => {
    const id = uuid.safeParse(req.params.run_id);
    if (!id.success) throw invalidArgument([{ path: 'run_id', message: 'run_id: must be a UUID (8-4-4-4-12 hex digits)' }]);
    const ctx = callContext(req);
    const view = await service.getRun(id.data, ctx);
    res.json({ ...view, ...(await service.descendants(view, ctx)) });
  });
  return r;
}
