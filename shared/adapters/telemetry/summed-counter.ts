import type { ObservableResult } from '@opentelemetry/api';
import type { AttributeValue, Attributes } from '../../app/telemetry-ports';

/** As the SDK's default cardinality limit: past this many attribute sets, further ones are summed in one overflow set. */
const MAX_SETS = 2000;
const OVERFLOW: Readonly<Record<string, AttributeValue>> = { 'otel.metric.overflow': true };

interface Sum {
  attributes: Readonly<Record<string, AttributeValue>>;
  value: number;
}

/** One step of the lookup tree: by attribute name, then by value (a Map keeps 429 and '429' apart). */
interface Step {
  next: Map<string, Map<AttributeValue, Step>> | undefined;
  sum: Sum | undefined;
}

/**
 * A counter summed here and read by the SDK at each collection (an observable counter): counting walks a small tree
 * of Maps, one step per attribute — no key string, no copy — where the SDK's synchronous counter sorts and encodes
 * the attributes on every add. Counts come on the hot path (each change, each ARM send); collections once a minute.
 */
export class SummedCounter {
  private readonly root: Step = { next: undefined, sum: undefined };
  private readonly sums: Sum[] = [];

  add(value: number, attributes: Attributes | undefined): void {
    let step = this.root;
    for (const name in attributes) {
      const attribute = attributes[name];
      if (attribute === undefined) continue;
      const byName = (step.next ??= new Map<string, Map<AttributeValue, Step>>());
      let byValue = byName.get(name);
      if (byValue === undefined) byName.set(name, (byValue = new Map<AttributeValue, Step>()));
      let next: Step | undefined = byValue.get(attribute);
      if (next === undefined) byValue.set(attribute, (next = { next: undefined, sum: undefined }));
      step = next;
    }
    if (step.sum !== undefined) {
      step.sum.value += value;
      return;
    }
    if (this.sums.length >= MAX_SETS) {
      this.add(value, OVERFLOW);
      return;
    }
    const kept: Record<string, AttributeValue> = {};
    for (const name in attributes) {
      const attribute = attributes[name];
      if (attribute !== undefined) kept[name] = attribute;
    }
    this.sums.push((step.sum = { attributes: kept, value }));
  }

  /** Reports every attribute set's running total (the same set named in another key order is merged). */
  observe(result: ObservableResult): void {
    const merged = new Map<string, Sum>();
    for (const { attributes, value } of this.sums) {
      const key = JSON.stringify(Object.entries(attributes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
      const seen = merged.get(key);
      if (seen === undefined) merged.set(key, { attributes, value });
      else seen.value += value;
    }
    for (const { attributes, value } of merged.values()) result.observe(value, attributes);
  }
}
