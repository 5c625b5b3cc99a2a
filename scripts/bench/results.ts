/** The shape of one run's results, filled by the stages and rendered by report.ts. */
import type { TaskCost } from "./cpu.js";
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

/** Medians of the per-repetition costs (µs of CPU and WAL bytes per task). */
export function medianCost(costs: TaskCost[]): TaskCost {
  const pg = costs.map((c) => c.postgresUs).filter((x): x is number => x !== null);
  return {
    workersUs: Math.round(median(costs.map((c) => c.workersUs))),
    postgresUs: pg.length ? Math.round(median(pg)) : null,
    walBytes: Math.round(median(costs.map((c) => c.walBytes))),
  };
}

export interface ProbeResult {
  p50: number;
  p99: number;
  max: number;
  /** Probes created, and those whose handler started before the stage ended. */
  created: number;
  started: number;
}

export interface ContinuousResult {
  instances: number;
  seconds: number;
  /** Tasks finished per second over the measured window. */
  rate: number;
  /** Tasks finished per second in each tick (--tick seconds). */
  ticks: number[];
  /** Fewest tasks queued or running seen at any check, and the target. */
  minQueued: number;
  target: number;
  /** Per task finished, creating the load included (the top-ups run during the window). */
  cost: TaskCost;
  probe: ProbeResult;
}

export interface IdleResult {
  instances: number;
  seconds: number;
  /** CPU per second of wall time: all instances together, and Postgres (every process). */
  workersMsPerS: number;
  postgresMsPerS: number | null;
  walBytesPerS: number;
  /** Where statements were counted: pg_stat_statements (calls) or pg_stat_database (transactions). */
  source: "pg_stat_statements" | "pg_stat_database";
  /** pg_stat_statements calls per second in the system's database; null without it. */
  statementsPerS: number | null;
  /** pg_stat_database of the system's database, per second. */
  xactPerS: number;
  tupReadPerS: number;
  tupWrittenPerS: number;
}

/** One case of the queues stage: its drain rate and cost, against the plain drain of the same rounds. */
export interface QueueDrainResult {
  /** How the tasks were spread, e.g. "100 queues, concurrency 10 each". */
  setup: string;
  rate: Measure;
  cost: TaskCost;
  /** median rate / median rate of the plain drain measured in the same rounds; null for the plain drain itself. */
  ratioToPlain: number | null;
}

/** One shape of the workflows stage (baton only, 1 instance), against as many independent tasks run in the same rounds. */
export interface WorkflowResult {
  /** e.g. "1 → 10,000 → 10 → 1". */
  shape: string;
  tasks: number;
  edges: number;
  /** POST /api/tasks/batch requests that created it. */
  requests: number;
  note?: string;
  /** First start → last finish, from task_logs (min started_at, max created_at of the succeeded rows), s. */
  seconds: Measure;
  baselineSeconds: Measure;
  /** tasks / median seconds. */
  rate: number;
  baselineRate: number;
  /** Median over the rounds of (shape − baseline seconds) / edges, µs; and the per-round values. */
  overheadUsPerEdge: number;
  overheadReps: number[];
  /** Release call → nothing left, as polled, s (per round). */
  wallSeconds: number[];
  baselineWallSeconds: number[];
  /** The HTTP creates, s. */
  createSeconds: Measure;
  baselineCreateSeconds: Measure;
  /** Per task, from the release until nothing is left (medians). */
  cost: TaskCost;
  baselineCost: TaskCost;
  /** Per task, the HTTP creates (medians). */
  createCost: TaskCost;
  baselineCreateCost: TaskCost;
}

export interface ConfigInfo {
  system: string;
  settings: string;
  source: string;
  /** Settings the worker process reported (baton: defaults resolved). */
  effective?: Record<string, unknown>;
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
  /** worker config label → instances → cost per task drained (medians of the repetitions) */
  cpu: Record<string, Record<string, TaskCost>>;
  /** enqueue case → system → cost per task created (medians) */
  enqueueCost: Record<string, Record<string, TaskCost>>;
  /** worker config label → cost per task over the big-table windows */
  scaleCost: Record<string, TaskCost>;
  /** worker config label → continuous load with probes */
  continuous: Record<string, ContinuousResult>;
  /** queues stage, baton only, 1 instance: case ("plain", "100 queues", "rate-limited queue") → drain */
  queues: Record<string, QueueDrainResult>;
  /** worker config label → two idle instances */
  idle: Record<string, IdleResult>;
  /** workflows stage, baton only: shape name ("fan-out/fan-in", "chain", "diamonds") → result */
  workflows: Record<string, WorkflowResult>;
  /** worker config label → settings and the documentation they follow */
  configs: Record<string, ConfigInfo>;
  /** system → how its probe expresses "priority 9" */
  priority: Record<string, string>;
  /** stage → seconds it took */
  stageSeconds: Record<string, number>;
  /** Stages that failed, with the error. */
  errors: string[];
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
    enqueueCost: {},
    scaleCost: {},
    continuous: {},
    queues: {},
    idle: {},
    workflows: {},
    configs: {},
    priority: {},
    stageSeconds: {},
    errors: [],
    memory: {},
    checks: [],
    explain: {},
  };
}

/** Records a configuration's settings, with what its first worker process reported. */
export function noteConfig(r: Results, cfg: { label: string; system: string; settings: string; source: string }, children: { ready: Record<string, unknown> }[]): void {
  const effective = children[0]?.ready.settings as Record<string, unknown> | undefined;
  r.configs[cfg.label] = { system: cfg.system, settings: cfg.settings, source: cfg.source, ...(effective ? { effective } : {}) };
}

export function noteMemory(r: Results, label: string, peaks: number[]): void {
  const max = Math.max(...peaks.filter((p) => Number.isFinite(p)), r.memory[label] ?? 0);
  r.memory[label] = Math.round(max * 10) / 10;
}
