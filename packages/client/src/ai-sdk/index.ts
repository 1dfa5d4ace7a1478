export { oprelayMiddleware, usageOf, type OprelayMiddlewareOptions } from './middleware.js';
export { withRun, type RunHandle } from './with-run.js';
