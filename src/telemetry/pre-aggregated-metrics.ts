import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { millisToHrTime } from '@opentelemetry/core';
import { metrics as sdkMetrics, resources } from '@opentelemetry/sdk-node';

/** What each metric is called and measures, as the SDK describes an instrument. */
export interface Descriptor {
  name: string;
  description: string;
  unit: string;
}

/** A series key from its label values (the unit separator never occurs in a capped label value). */
export const seriesKey = (...values: (string | undefined)[]): string => values.join('\u001f');

/** Series per metric at most, as the SDK's own default; further label sets go to one overflow series. */
export const MAX_SERIES_PER_METRIC = 2000;
const OVERFLOW_KEY = '\u0000overflow';
const OVERFLOW_ATTRIBUTES: Attributes = { 'otel.metric.overflow': true };

interface CounterSeries {
  attributes: Attributes;
  start: HrTime;
  sum: number;
}

interface HistogramSeries {
  attributes: Attributes;
  start: HrTime;
  counts: number[];
  sum: number;
  count: number;
  min: number;
  max: number;
}

/**
 * Cumulative series kept by label key: a call's key is a string the caller joins from its label
 * values (the labels object is built once, when the series first appears). Recording costs a map
 * lookup, where the SDK's instruments hash every label set on every record.
 */
abstract class SeriesTable<S> {
  protected readonly series = new Map<string, S>();

  constructor(readonly descriptor: Descriptor) {}

  protected seriesOf(key: string, attributes: () => Attributes, now: number): S {
    let s = this.series.get(key);
    if (!s) {
      const full = this.series.size >= MAX_SERIES_PER_METRIC;
      if (full) s = this.series.get(OVERFLOW_KEY);
      if (!s) {
        s = this.create(full ? OVERFLOW_ATTRIBUTES : attributes(), millisToHrTime(now));
        this.series.set(full ? OVERFLOW_KEY : key, s);
      }
    }
    return s;
  }

  protected abstract create(attributes: Attributes, start: HrTime): S;
  abstract toMetricData(end: HrTime): sdkMetrics.MetricData;
}

/** A monotonic sum (an OpenTelemetry Counter), cumulative. */
export class CounterTable extends SeriesTable<CounterSeries> {
  add(value: number, key: string, attributes: () => Attributes, now = Date.now()): void {
    if (!(value >= 0) || !Number.isFinite(value)) return; // a counter only grows: NaN, negatives and infinities are dropped
    this.seriesOf(key, attributes, now).sum += value;
  }

  protected create(attributes: Attributes, start: HrTime): CounterSeries {
    return { attributes, start, sum: 0 };
  }

  toMetricData(end: HrTime): sdkMetrics.SumMetricData {
    return {
      descriptor: { ...this.descriptor, valueType: ValueType.DOUBLE },
      aggregationTemporality: sdkMetrics.AggregationTemporality.CUMULATIVE,
      dataPointType: sdkMetrics.DataPointType.SUM,
      isMonotonic: true,
      dataPoints: [...this.series.values()].map((s) => ({ attributes: s.attributes, startTime: s.start, endTime: end, value: s.sum })),
    };
  }
}

/** An explicit-bucket histogram, cumulative, bucketed as the SDK does (bucket i holds values ≤ boundary i). */
export class HistogramTable extends SeriesTable<HistogramSeries> {
  constructor(
    descriptor: Descriptor,
    private readonly boundaries: readonly number[],
  ) {
    super(descriptor);
  }

  record(value: number, key: string, attributes: () => Attributes, now = Date.now()): void {
    if (!(value >= 0) || !Number.isFinite(value)) return; // as the SDK's histogram: no negative, NaN or infinite values
    const s = this.seriesOf(key, attributes, now);
    s.count += 1;
    s.sum += value;
    if (value < s.min) s.min = value;
    if (value > s.max) s.max = value;
    const b = this.boundaries;
    let i = 0;
    while (i < b.length && b[i]! < value) i++;
    s.counts[i]! += 1;
  }

  protected create(attributes: Attributes, start: HrTime): HistogramSeries {
    return {
      attributes,
      start,
      counts: new Array<number>(this.boundaries.length + 1).fill(0),
      sum: 0,
      count: 0,
      min: Infinity,
      max: -Infinity,
    };
  }

  toMetricData(end: HrTime): sdkMetrics.HistogramMetricData {
    return {
      descriptor: { ...this.descriptor, valueType: ValueType.DOUBLE },
      aggregationTemporality: sdkMetrics.AggregationTemporality.CUMULATIVE,
      dataPointType: sdkMetrics.DataPointType.HISTOGRAM,
      dataPoints: [...this.series.values()].map((s) => ({
        attributes: s.attributes,
        startTime: s.start,
        endTime: end,
        value: {
          buckets: { boundaries: [...this.boundaries], counts: [...s.counts] },
          sum: s.sum,
          count: s.count,
          ...(s.count > 0 ? { min: s.min, max: s.max } : {}),
        },
      })),
    };
  }
}

/**
 * The tool calls' high-rate metrics (usage counters, the GenAI histograms), aggregated by the bridge
 * and handed to every metric reader as one more scope at collection (an SDK MetricProducer).
 * docs/architecture.md#metrics says which metrics these are.
 */
export class PreAggregatedMetrics implements sdkMetrics.MetricProducer {
  private readonly tables: { toMetricData(end: HrTime): sdkMetrics.MetricData }[] = [];

  constructor(private readonly scope: { name: string; version: string; schemaUrl?: string }) {}

  counter(descriptor: Descriptor): CounterTable {
    const t = new CounterTable(descriptor);
    this.tables.push(t);
    return t;
  }

  histogram(descriptor: Descriptor, boundaries: readonly number[]): HistogramTable {
    const t = new HistogramTable(descriptor, boundaries);
    this.tables.push(t);
    return t;
  }

  async collect(): Promise<sdkMetrics.CollectionResult> {
    const end = millisToHrTime(Date.now());
    return {
      resourceMetrics: {
        // the reader keeps its own resource and takes only the scope metrics from here
        resource: resources.emptyResource(),
        scopeMetrics: [{ scope: this.scope, metrics: this.tables.map((t) => t.toMetricData(end)).filter((m) => m.dataPoints.length > 0) }],
      },
      errors: [],
    };
  }
}
