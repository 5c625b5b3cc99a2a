/** The shape of one run's results, filled by the stages and rendered by report.ts. */
import { median } from "./stats.js";

export interface Measure {
  /** One value per repetition (after warm-up). */
  samples: number[];
  median: number;
  unit: string;
  note?: string;
}

export function measure(samples: number[], unit: string, note?: string): Measure {
  return { samples, median: median(samples), unit, note };
}

export interface LatencyResult {
  p50: number;
  p99: number;
  max: number;
  count: number;
  /** Latency of the create call itself (HTTP response or in-process add), p50 / p99. */
  createP50: number;
  createP99: number;
  /** Per-repetition p50 and p99, when repeated. */
  repsP50: number[];
  repsP99: number[];
}

export interface Results {
  startedAt: string;
  finishedAt?: string;
  durationS?: number;
  machine: Record<string, unknown>;
  options: Record<string, unknown>;
  /** case ("single, 16 clients", "batch 1,000", ...) → system label → tasks/s */
  enqueue: Record<string, Record<string, Measure>>;
  /** worker config label → instances ("1" | "2") → tasks/s */
  processing: Record<string, Record<string, Measure>>;
  /** system label → create → handler start, ms */
  latency: Record<string, LatencyResult>;
  /** worker config label → { baseline, big } tasks/s */
  scale: Record<string, { baseline?: Measure; big?: Measure; historyRows?: number; queuedAtStart?: number[] }>;
  /** baton API at scale: name → p50/p99 ms */
  api: Record<string, { p50: number; p99: number; count: number; rows: number }>;
  /** worker config label → instances → CPU ms per 1,000 tasks drained (medians of the repetitions) */
  cpu: Record<string, Record<string, { workers: number; postgres: number }>>;
  /** worker config label → peak RSS per instance, MB (max over the runs it took part in) */
  memory: Record<string, number>;
  /** Bookkeeping checks done after baton runs (task rows and log rows counted). */
  checks: string[];
  explain: Record<string, string>;
}

export function newResults(machine: Record<string, unknown>, options: Record<string, unknown>): Results {
  return {
    startedAt: new Date().toISOString(),
    machine,
    options,
    enqueue: {},
    processing: {},
    latency: {},
    scale: {},
    api: {},
    cpu: {},
    memory: {},
    checks: [],
    explain: {},
  };
}

export function noteMemory(r: Results, label: string, peaks: number[]): void {
  const max = Math.max(...peaks.filter((p) => Number.isFinite(p)), r.memory[label] ?? 0);
  r.memory[label] = Math.round(max * 10) / 10;
}
