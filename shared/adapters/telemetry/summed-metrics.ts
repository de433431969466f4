/**
 * Counters and histograms summed here, read by the SDK at each collection: counting is a walk down a small tree of
 * Maps, one step per attribute — no key string, no copy — where the SDK's synchronous instruments sort and encode the
 * attributes on every call (a histogram record cost more than a span, bench row 8b). Counts and records come on the
 * hot path (each change, each ARM send); collections once a minute.
 */
import { ValueType, type HrTime, type ObservableResult } from '@opentelemetry/api';
import { hrTime, type InstrumentationScope } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type HistogramMetricData,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import type { AttributeValue, Attributes } from '../../app/telemetry-ports';

/** As the SDK's default cardinality limit: 2000 attribute sets, the overflow set (where further ones are summed) included. */
const MAX_SETS = 1999;
const OVERFLOW: Readonly<Record<string, AttributeValue>> = { 'otel.metric.overflow': true };

interface Entry<T> {
  attributes: Readonly<Record<string, AttributeValue>>;
  value: T;
}

/** One step of the lookup tree: by attribute name, then by value (a Map keeps 429 and '429' apart). */
interface Step<T> {
  next: Map<string, Map<AttributeValue, Step<T>>> | undefined;
  entry: Entry<T> | undefined;
}

/** The running value of each attribute set (undefined attributes dropped; one entry per set, whatever the key order). */
class AttributeSets<T> {
  private readonly root: Step<T> = { next: undefined, entry: undefined };
  private readonly bySet = new Map<string, Entry<T>>();
  private overflow: Entry<T> | undefined;

  constructor(private readonly create: () => T) {}

  value(attributes: Attributes | undefined): T {
    const full = this.bySet.size >= MAX_SETS;
    let step = this.root;
    for (const name in attributes) {
      const attribute = attributes[name];
      if (attribute === undefined) continue;
      let byValue = step.next?.get(name);
      let next = byValue?.get(attribute);
      if (next === undefined) {
        // Full: no new paths (the tree stays bounded); an unseen set is summed in the overflow set.
        if (full) return (this.overflow ??= this.entryOf(OVERFLOW)).value;
        if (byValue === undefined) (step.next ??= new Map()).set(name, (byValue = new Map()));
        byValue.set(attribute, (next = { next: undefined, entry: undefined }));
      }
      step = next;
    }
    return (step.entry ??= this.entryOf(attributes)).value;
  }

  entries(): IterableIterator<Entry<T>> {
    return this.bySet.values();
  }

  /** The entry of a set reached by a new path: the same set named in another key order shares it. */
  private entryOf(attributes: Attributes | undefined): Entry<T> {
    const kept: Record<string, AttributeValue> = {};
    for (const name in attributes) {
      const attribute = attributes[name];
      if (attribute !== undefined) kept[name] = attribute;
    }
    const key = JSON.stringify(Object.entries(kept).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    let entry = this.bySet.get(key);
    if (entry === undefined) this.bySet.set(key, (entry = { attributes: kept, value: this.create() }));
    return entry;
  }
}

/** A counter, reported through the SDK as an observable counter's running totals. */
export class SummedCounter {
  private readonly sets = new AttributeSets(() => ({ sum: 0 }));

  add(value: number, attributes: Attributes | undefined): void {
    this.sets.value(attributes).sum += value;
  }

  observe(result: ObservableResult): void {
    for (const { attributes, value } of this.sets.entries()) result.observe(value.sum, attributes);
  }
}

/** The SDK's default explicit bucket boundaries (what `meter.createHistogram` aggregates into). */
const BOUNDARIES = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

interface Buckets {
  counts: number[];
  count: number;
  sum: number;
  min: number;
  max: number;
}

/** A histogram aggregated as the SDK's explicit-bucket aggregation does (cumulative, with min and max). */
export class SummedHistogram {
  private readonly sets = new AttributeSets<Buckets>(() => ({
    counts: new Array<number>(BOUNDARIES.length + 1).fill(0),
    count: 0,
    sum: 0,
    min: Infinity,
    max: -Infinity,
  }));

  constructor(
    readonly name: string,
    readonly unit: string,
  ) {}

  record(value: number, attributes: Attributes | undefined): void {
    if (!(value >= 0)) return; // as the SDK: a histogram takes no negative value, NaN falls in no bucket
    const buckets = this.sets.value(attributes);
    let i = 0;
    while (i < BOUNDARIES.length && value > BOUNDARIES[i]!) i++; // upper bounds are inclusive
    buckets.counts[i]! += 1;
    buckets.count += 1;
    buckets.sum += value;
    if (value < buckets.min) buckets.min = value;
    if (value > buckets.max) buckets.max = value;
  }

  metricData(startTime: HrTime, endTime: HrTime): HistogramMetricData {
    return {
      descriptor: { name: this.name, description: '', unit: this.unit, valueType: ValueType.DOUBLE },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: [...this.sets.entries()].map(({ attributes, value }) => ({
        startTime,
        endTime,
        attributes,
        value: {
          buckets: { boundaries: BOUNDARIES, counts: [...value.counts] },
          count: value.count,
          sum: value.sum,
          min: value.min,
          max: value.max,
        },
      })),
    };
  }
}

/**
 * The histograms as a MetricProducer of the SDK's metric reader: their points are exported with the SDK's own
 * (the reader keeps its resource). `metricProducers` is marked experimental in sdk-metrics 2.x.
 */
export function histogramProducer(
  scope: InstrumentationScope,
  histograms: () => Iterable<SummedHistogram>,
): MetricProducer {
  const startTime = hrTime();
  return {
    collect(): Promise<CollectionResult> {
      const endTime = hrTime();
      const metrics = [...histograms()].map((histogram) => histogram.metricData(startTime, endTime));
      return Promise.resolve({
        resourceMetrics: { resource: EMPTY_RESOURCE, scopeMetrics: metrics.length === 0 ? [] : [{ scope, metrics }] },
        errors: [],
      });
    },
  };
}

const EMPTY_RESOURCE = resourceFromAttributes({});
