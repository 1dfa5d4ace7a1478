/**
 * The export baseline: the OpenTelemetry JS OTLP/HTTP exporter (JSON or protobuf) sending the same span records, already
 * materialised in memory, in sequential batches — what the exporter alone can do, with no store,
 * claim, parse or ack. argv[2]: JSON { dataDir, receiverUrl, batchSize }. Prints one JSON line.
 */
import { SpanMaterializer } from '../src/export/readable-span.js';
import { createReadableSpanExporter } from '../src/export/span-exporter.js';
import { SqliteStore } from '../src/store/sqlite-store.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as {
  dataDir: string;
  receiverUrl: string;
  batchSize: number;
  protocol?: 'http/json' | 'http/protobuf';
};
const store = SqliteStore.inDataDir(spec.dataDir);
await store.init();
const rows = await store.claimOutbox('bench-ceiling', 1_000_000, 600_000, Date.now());
await store.close();
const materializer = new SpanMaterializer({}, 'bench');
const spans = rows.map((r) => materializer.toReadable(r.span));
const exporter = createReadableSpanExporter(
  { url: `${spec.receiverUrl}/v1/traces`, timeoutMillis: 10_000, headers: {} },
  spec.protocol ?? 'http/protobuf',
);
// warm-up batch, not timed
await exporter.export(spans.slice(0, spec.batchSize));
const t0 = performance.now();
for (let i = 0; i < spans.length; i += spec.batchSize) {
  const out = await exporter.export(spans.slice(i, i + spec.batchSize));
  if (!out.ok) throw new Error(`export failed: ${out.message}`);
}
const ms = performance.now() - t0;
await exporter.shutdown();
process.stdout.write(`${JSON.stringify({ spans: spans.length, ms, spansPerS: (spans.length / ms) * 1000 })}\n`);
