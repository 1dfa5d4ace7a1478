/** Who is calling: the projects their key covers (undefined = all) and transport metadata. */
export interface CallContext {
  projects?: readonly string[];
  /** a read-only key: the gateway refuses every tool call */
  readOnly?: boolean;
  traceparent?: string;
  idempotencyKey?: string;
  /** where the key came from, for errors: the header (default) or core_report_usage's idempotency_key */
  idempotencyKeyName?: 'Idempotency-Key' | 'idempotency_key';
}

/** Whether the caller's key covers the project. */
export function canSee(ctx: CallContext, project: string): boolean {
  return !ctx.projects || ctx.projects.includes('*') || ctx.projects.includes(project);
}
