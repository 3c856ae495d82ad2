// A Prometheus histogram counted in plain arrays: observing is a bucket search and three additions,
// with no label hashing or closure per call (prom-client's Histogram#observe allocates); the
// exposition objects are built only when scraped.
import type { Metric, MetricValueWithName, Registry } from 'prom-client';

export class LocalHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  #bounds: Float64Array;
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  #counts: Float64Array;
  #sum = 0;
  #count = 0;

  constructor(o: { name: string; help: string; buckets: number[]; registers: Registry[] }) {
    this.name = o.name;
    this.help = o.help;
    this.#bounds = Float64Array.from(o.buckets);
    this.#counts = new Float64Array(o.buckets.length + 1);
    for (const r of o.registers) r.registerMetric(this as unknown as Metric);
  }

  observe(value: number): void {
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.#counts[i]!++;
    this.#sum += value;
    this.#count++;
  }

  reset(): void {
    this.#counts.fill(0);
    this.#sum = 0;
    this.#count = 0;
  }

  /** What the registry formats (the shape prom-client's own metrics give). */
  get(): Promise<{ name: string; help: string; type: 'histogram'; values: MetricValueWithName<string>[]; aggregator: 'sum' }> {
    const values: MetricValueWithName<string>[] = [];
    let cumulative = 0;
    for (let i = 0; i < this.#bounds.length; i++) {
      cumulative += this.#counts[i]!;
      values.push({ metricName: `${this.name}_bucket`, labels: { le: this.#bounds[i]! }, value: cumulative });
    }
    values.push(
      { metricName: `${this.name}_bucket`, labels: { le: '+Inf' }, value: this.#count },
      { metricName: `${this.name}_sum`, labels: {}, value: this.#sum },
      { metricName: `${this.name}_count`, labels: {}, value: this.#count },
    );
    return Promise.resolve({ name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' });
  }
}
