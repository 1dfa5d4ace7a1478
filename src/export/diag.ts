import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import type { Logger } from '../log.js';
import { errorText } from './outage-log.js';

const PARTIAL = 'Received Partial Success response:';
/** the metric reader's own report of a failed push: the exporter's outage log has it already */
const METRIC_READER = /PeriodicExportingMetricReader: metrics export/;

/**
 * The OTLP exporter reports a partial success as success and only logs it through `diag`.
 * This logger forwards diag output to the bridge's log and remembers the last partial success,
 * which the relay (one export at a time) reads right after each export.
 */
export class ExporterDiagnostics {
  private partial: { rejected: number; message: string } | undefined;

  constructor(private readonly log: Logger) {}

  install(): void {
    const forward =
      (level: 'debug' | 'info' | 'warn' | 'error') =>
      (message: string, ...args: unknown[]) => {
        if (message.startsWith(PARTIAL)) {
          this.notePartial(args[0]);
          return;
        }
        if (METRIC_READER.test(message)) return this.log.debug(`otel: ${errorText(parseJsonError(message))}`);
        this.log[level](`otel: ${message}`, args.length ? { args: args.map(String) } : undefined);
      };
    const logger: DiagLogger = {
      error: forward('error'),
      warn: forward('warn'),
      info: forward('debug'),
      debug: forward('debug'),
      verbose: () => undefined,
    };
    diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  }

  private notePartial(arg: unknown): void {
    try {
      const p = JSON.parse(String(arg)) as { rejectedSpans?: string | number; errorMessage?: string };
      const rejected = Number(p.rejectedSpans ?? 0);
      if (rejected > 0 || p.errorMessage) this.partial = { rejected, message: p.errorMessage ?? '' };
    } catch {
      this.partial = { rejected: 0, message: String(arg) };
    }
  }

  /** The partial success seen since the last call, if any. */
  takePartial(): { rejected: number; message: string } | undefined {
    const p = this.partial;
    this.partial = undefined;
    return p;
  }
}

/** The SDK's error handler logs an error as its JSON ({"stack", "message", "name"}); its message, else the text. */
function parseJsonError(text: string): unknown {
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed && typeof parsed === 'object' && 'message' in parsed ? parsed : text;
  } catch {
    return text;
  }
}
