/**
 * The export worker thread: turns stored spans (OTLP `Span` messages) into OTLP requests and sends them, so
 * the CPU of encoding never competes with tool calls on the main thread. The relay, the outbox
 * and every store write stay on the main thread; this thread only answers "exported or not".
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../log.js';
import { StoredOutboxRow } from '../store/run-store.js';
import { ExporterDiagnostics } from './diag.js';
import { SpanMaterializer } from './readable-span.js';
import { InlineRowExporter } from './row-exporter.js';
import { unpackSpans, type ExportRequest, type ExportReply, type WorkerSettings } from './worker-exporter.js';

const settings = workerData as WorkerSettings;
const log = createLogger(settings.logLevel);
const diagnostics = new ExporterDiagnostics(log);
diagnostics.install();
const exporter = new InlineRowExporter(
  { url: settings.url, protocol: settings.protocol, timeoutMillis: settings.timeoutMs, headers: settings.headers },
  new SpanMaterializer(settings.resourceAttributes, settings.version),
  diagnostics,
);

const port = parentPort!;
port.on('message', (msg: ExportRequest) => {
  if (msg.kind === 'shutdown') {
    void exporter.shutdown().finally(() => port.postMessage({ kind: 'shutdown' } satisfies ExportReply));
    return;
  }
  const rows = unpackSpans(msg.spans, msg.lengths).map((stored, i) => new StoredOutboxRow(i, null, 0, 0, stored));
  exporter
    .export(rows)
    .catch((err: unknown) => ({ ok: false as const, message: `export worker: ${String(err)}` }))
    .then((outcome) => port.postMessage({ kind: 'result', id: msg.id, outcome } satisfies ExportReply));
});
