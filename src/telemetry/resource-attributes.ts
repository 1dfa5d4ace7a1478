import { ATTR, SERVICE_NAMESPACE } from './attributes.js';
import { GEN_AI_SCHEMA_URL } from './genai-conventions.js';
import { OPENINFERENCE } from './openinference.js';

/** The schema URL of every exported resource and scope (the GenAI registry version followed). */
export const EXPORT_SCHEMA_URL = GEN_AI_SCHEMA_URL;

/**
 * The resource attributes of one project's spans, the one definition every export path uses:
 * the operator's `OTEL_RESOURCE_ATTRIBUTES` (`extra`), then `service.name` = project key (Jaeger,
 * Tempo: one service per project), `service.namespace`, and `openinference.project.name` = project
 * key (Phoenix: one project per key, which it reads from this attribute only).
 */
export function resourceAttributesOf(project: string, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return {
    ...extra,
    [ATTR.serviceName]: project,
    [ATTR.serviceNamespace]: SERVICE_NAMESPACE,
    [OPENINFERENCE.projectName]: project,
  };
}
