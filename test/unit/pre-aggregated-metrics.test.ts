import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { metrics as sdkMetrics } from '@opentelemetry/sdk-node';
import { MAX_SERIES_PER_METRIC, PreAggregatedMetrics } from '../../src/telemetry/pre-aggregated-metrics.js';

// The bridge's own aggregation of its per-call series must give what the SDK's instruments give for
// the same recordings: same buckets, sums, counts, min and max; and stay bounded like the SDK.

const BOUNDS = [1, 4, 16, 64];
const VALUES = [0, 1, 1.5, 4, 4.0001, 16, 63.9, 64, 65, 1e9, -3, Number.NaN, Infinity, 0.5];

async function viaSdk(): Promise<sdkMetrics.HistogramMetricData> {
  const reader = new sdkMetrics.PeriodicExportingMetricReader({
    exporter: new sdkMetrics.InMemoryMetricExporter(sdkMetrics.AggregationTemporality.CUMULATIVE),
    exportIntervalMillis: 3_600_000,
  });
  const provider = new sdkMetrics.MeterProvider({ readers: [reader] });
  const h = provider.getMeter('t').createHistogram('h', { advice: { explicitBucketBoundaries: BOUNDS } });
  for (const v of VALUES) h.record(v, { a: 'x' });
  const { resourceMetrics } = await reader.collect();
  await provider.shutdown();
  return resourceMetrics.scopeMetrics[0]!.metrics[0] as sdkMetrics.HistogramMetricData;
}

describe('PreAggregatedMetrics', () => {
  it('buckets, sums and counts a histogram exactly as the SDK does', async () => {
    const tables = new PreAggregatedMetrics({ name: 's', version: '1' });
    const h = tables.histogram({ name: 'h', description: '', unit: '' }, BOUNDS);
    for (const v of VALUES) h.record(v, 'x', () => ({ a: 'x' }));
    const { resourceMetrics } = await tables.collect();
    const ours = resourceMetrics.scopeMetrics[0]!.metrics[0] as sdkMetrics.HistogramMetricData;
    const sdk = await viaSdk();
    assert.equal(ours.dataPoints.length, 1);
    assert.deepEqual(ours.dataPoints[0]!.attributes, { a: 'x' });
    const { buckets, sum, count, min, max } = sdk.dataPoints[0]!.value;
    // the SDK keeps +Infinity in the sum; the bridge drops non-finite values, so compare the rest
    assert.deepEqual(ours.dataPoints[0]!.value.buckets.counts.slice(0, -1), buckets.counts.slice(0, -1));
    assert.equal(ours.dataPoints[0]!.value.min, min);
    assert.equal(ours.dataPoints[0]!.value.count, count - 1, 'one value fewer: Infinity');
    assert.equal(ours.dataPoints[0]!.value.buckets.counts.at(-1), buckets.counts.at(-1)! - 1);
    assert.equal(
      ours.dataPoints[0]!.value.sum,
      VALUES.filter((v) => v >= 0 && Number.isFinite(v)).reduce((a, b) => a + b, 0),
    );
    assert.equal(ours.dataPoints[0]!.value.max, 1e9);
    assert.ok(Number.isNaN(sum) || sum === Infinity, 'the SDK sum holds the infinite value');
    assert.ok(max === Infinity);
  });

  it('sums a counter per key, builds each label set once and drops negative and non-finite values', async () => {
    const tables = new PreAggregatedMetrics({ name: 's', version: '1' });
    const c = tables.counter({ name: 'c', description: 'd', unit: '{x}' });
    let built = 0;
    const labels = (p: string) => () => (built++, { project: p });
    c.add(2, 'p1', labels('p1'));
    c.add(3.5, 'p1', labels('p1'));
    c.add(1, 'p2', labels('p2'));
    c.add(-1, 'p2', labels('p2'));
    c.add(Number.NaN, 'p2', labels('p2'));
    const m = (await tables.collect()).resourceMetrics.scopeMetrics[0]!.metrics[0] as sdkMetrics.SumMetricData;
    assert.equal(built, 2);
    assert.equal(m.isMonotonic, true);
    assert.deepEqual(
      m.dataPoints.map((p) => [p.attributes.project, p.value]),
      [
        ['p1', 5.5],
        ['p2', 1],
      ],
    );
  });

  it(`keeps at most ${MAX_SERIES_PER_METRIC} series per metric, the rest in one overflow series`, async () => {
    const tables = new PreAggregatedMetrics({ name: 's', version: '1' });
    const c = tables.counter({ name: 'c', description: 'd', unit: '1' });
    for (let i = 0; i < MAX_SERIES_PER_METRIC + 50; i++) c.add(1, `k${i}`, () => ({ k: `k${i}` }));
    const points = ((await tables.collect()).resourceMetrics.scopeMetrics[0]!.metrics[0] as sdkMetrics.SumMetricData).dataPoints;
    assert.equal(points.length, MAX_SERIES_PER_METRIC + 1);
    const overflow = points.find((p) => p.attributes['otel.metric.overflow'] === true);
    assert.equal(overflow?.value, 50);
  });

  it('leaves a metric with no series out of the collection', async () => {
    const tables = new PreAggregatedMetrics({ name: 's', version: '1' });
    tables.counter({ name: 'c', description: 'd', unit: '1' });
    assert.deepEqual((await tables.collect()).resourceMetrics.scopeMetrics[0]!.metrics, []);
  });
});
