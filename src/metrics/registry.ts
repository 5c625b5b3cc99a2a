/**
 * A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text
 * exposition format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/).
 * Hand-written because baton needs a dozen series, not a client library's feature set.
 */

type Labels = Record<string, string>;

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatLabels(labels: Labels, extra?: [string, string]): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(v);
}

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {
    if (!NAME.test(name)) throw new Error(`invalid metric name ${name}`);
  }
  abstract readonly type: "counter" | "gauge" | "histogram";
  protected key(labels: Labels): string {
    const missing = this.labelNames.filter((n) => !(n in labels));
    if (missing.length) throw new Error(`${this.name}: missing labels ${missing.join(", ")}`);
    return JSON.stringify(this.labelNames.map((n) => labels[n]));
  }
  protected labelsOf(key: string): Labels {
    const values = JSON.parse(key) as string[];
    return Object.fromEntries(this.labelNames.map((n, i) => [n, values[i]]));
  }
  abstract samples(): string[];
  render(): string {
    return [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`, ...this.samples()].join("\n");
  }
}

export class Counter extends Metric {
  readonly type = "counter";
  private readonly values = new Map<string, number>();
  inc(labels: Labels = {}, by = 1): void {
    if (by < 0) throw new Error(`${this.name}: counters only go up`);
    const k = this.key(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(this.key(labels)) ?? 0;
  }
  samples(): string[] {
    return [...this.values].map(([k, v]) => `${this.name}${formatLabels(this.labelsOf(k))} ${formatValue(v)}`);
  }
}

export class Gauge extends Metric {
  readonly type = "gauge";
  private values = new Map<string, number>();
  set(labels: Labels, v: number): void {
    this.values.set(this.key(labels), v);
  }
  /** Replaces every series at once (for gauges read fresh from SQL on each scrape). */
  replace(entries: [Labels, number][]): void {
    const next = new Map<string, number>();
    for (const [l, v] of entries) next.set(this.key(l), v);
    this.values = next;
  }
  samples(): string[] {
    return [...this.values].map(([k, v]) => `${this.name}${formatLabels(this.labelsOf(k))} ${formatValue(v)}`);
  }
}

interface HistogramSeries {
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram extends Metric {
  readonly type = "histogram";
  private readonly series = new Map<string, HistogramSeries>();
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames);
    if (labelNames.includes("le")) throw new Error("le is reserved for histogram buckets");
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i] > buckets[i - 1])) throw new Error(`${name}: buckets must increase`);
    }
  }
  observe(labels: Labels, v: number): void {
    const k = this.key(labels);
    let s = this.series.get(k);
    if (!s) {
      s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]) s.counts[i]++;
    s.sum += v;
    s.count++;
  }
  count(labels: Labels = {}): number {
    return this.series.get(this.key(labels))?.count ?? 0;
  }
  samples(): string[] {
    const out: string[] = [];
    for (const [k, s] of this.series) {
      const labels = this.labelsOf(k);
      for (const [i, b] of this.buckets.entries()) {
        out.push(`${this.name}_bucket${formatLabels(labels, ["le", formatValue(b)])} ${s.counts[i]}`);
      }
      out.push(`${this.name}_bucket${formatLabels(labels, ["le", "+Inf"])} ${s.count}`);
      out.push(`${this.name}_sum${formatLabels(labels)} ${formatValue(s.sum)}`);
      out.push(`${this.name}_count${formatLabels(labels)} ${s.count}`);
    }
    return out;
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];
  register<M extends Metric>(m: M): M {
    if (this.metrics.some((x) => x.name === m.name)) throw new Error(`metric ${m.name} registered twice`);
    this.metrics.push(m);
    return m;
  }
  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.register(new Counter(name, help, labelNames));
  }
  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.register(new Gauge(name, help, labelNames));
  }
  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram {
    return this.register(new Histogram(name, help, labelNames, buckets));
  }
  /** The exposition text; every family is listed (HELP and TYPE) even before its first sample. */
  render(): string {
    return `${this.metrics.map((m) => m.render()).join("\n")}\n`;
  }
}

/** Content-Type of the text exposition format. */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
