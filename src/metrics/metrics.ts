/**
 * baton's metrics. In-process series (attempts, durations, queue latency, recoveries, pruning)
 * count what THIS instance did since it started: Prometheus sums them across instances. SQL
 * gauges (tasks by status, queue depth, instances) describe the whole system and are read from
 * the database at scrape time, cached for SQL_CACHE_MS so many scrapers do not multiply the cost.
 * A scrape while the database is away still answers, with baton_database_up 0.
 *
 * prom-client, with one Registry per BatonMetrics (never prom-client's global default registry),
 * so two services in one process each expose their own series. The default process metrics
 * (CPU, memory, event loop lag, GC, handles) describe the process, not a service, and
 * collectDefaultMetrics cannot be undone (its event-loop monitor and GC observer are never
 * released): they are collected once per process into their own registry and merged into every
 * scrape.
 */

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Database } from "../db/client.js";
import { readSqlGauges, type SqlGauges } from "../db/queries/metrics.js";
import { queueGauges } from "../db/queries/queues.js";
import type { RecoveredTask } from "../db/queries/recovery.js";
import type { TaskStatus } from "../db/types.js";
import { withTimeout } from "../domain/timeout.js";
import type { Logger } from "../log.js";
import type { AttemptEvent, WorkerService } from "../worker/pool.js";

/** Seconds: from 5 ms (noop) to an hour (long http calls, simulate). */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
/** Seconds: claim latency is milliseconds when idle and minutes under a backlog. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400];

const STATUSES: TaskStatus[] = ["waiting", "backlog", "pending", "processing", "retrying", "completed", "failed", "canceled"];
const SQL_CACHE_MS = 2000;
const SQL_TIMEOUT_MS = 3000;

let processMetrics: Registry | null = null;
/** The process's default metrics, collected on first use (see the module comment). */
function processRegistry(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}

export class BatonMetrics {
  readonly registry = new Registry();
  readonly attempts = this.counter(
    "baton_task_attempts_total",
    "Attempts finished by this instance, by task type and outcome (succeeded, retry, failed, canceled, returned)",
    ["type", "outcome"],
  );
  readonly duration = new Histogram({
    name: "baton_task_duration_seconds",
    help: "Attempt duration on this instance, by task type and outcome",
    labelNames: ["type", "outcome"],
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly queueLatency = new Histogram({
    name: "baton_task_queue_latency_seconds",
    help: "Time from a task becoming due (created, or run_at when later) to the start of its attempt",
    labelNames: ["type"],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly recovered = this.counter(
    "baton_recovered_tasks_total",
    "Tasks of dead instances this instance took over, by the status they moved to (retrying, failed)",
    ["status"],
  );
  readonly takeovers = this.counter("baton_instance_takeovers_total", "Dead instances this instance took over");
  readonly pruned = this.counter("baton_pruned_tasks_total", "Tasks deleted by retention pruning on this instance");
  readonly jobsCompacted = this.counter("baton_jobs_table_compactions_total", "Rewrites of graphile-worker's jobs table by VACUUM FULL after bloat, on this instance");
  private readonly tasks = this.gauge("baton_tasks", "Tasks by status (whole database)", ["status"]);
  private readonly depth = this.gauge("baton_queue_depth", "Unfinished tasks by status and type (whole database; see the baton.queue_depth view)", [
    "status",
    "type",
  ]);
  private readonly oldestDue = this.gauge(
    "baton_oldest_due_task_age_seconds",
    "How long the most overdue claimable task has waited past its run_at (0: none waiting)",
  );
  private readonly queueSaturation = this.gauge(
    "baton_queue_saturation",
    "Per queue with a row: (pending + running) / concurrency; 1 means every slot is taken",
    ["queue"],
  );
  private readonly queueRateSaturation = this.gauge(
    "baton_queue_rate_saturation",
    "Per rate-limited queue: starts in the current window / rateLimit.limit; 1 means the window is used up",
    ["queue"],
  );
  private readonly queueWaiting = this.gauge(
    "baton_queue_waiting",
    "Waiting tasks per queue by reason: parents (a parent has not completed), paused, concurrency (every slot taken), rate_limit (window used up), scheduled (run_at not reached)",
    ["queue", "reason"],
  );
  private readonly instances = this.gauge("baton_instances", "Instances by state: alive, or dead and not yet taken over", ["state"]);
  private readonly running = this.gauge("baton_instance_running_tasks", "Tasks running on this instance now");
  private readonly concurrency = this.gauge("baton_instance_concurrency", "WORKER_CONCURRENCY of this instance (0: worker disabled)");
  private readonly dbUp = this.gauge("baton_database_up", "1 when this scrape could read the database, else 0");
  private readonly info = this.gauge("baton_info", "This instance (value always 1)", ["instance", "version"]);

  private cache: { at: number; value: Gauges } | null = null;
  private reading: Promise<Gauges> | null = null;
  private listener: ((e: AttemptEvent) => void) | null = null;

  constructor(
    private readonly deps: {
      database: Database;
      worker: WorkerService | null;
      instanceId: string;
      version: string;
      concurrency: number;
      deadAfterMs: number;
      log: Logger;
    },
  ) {
    this.info.set({ instance: deps.instanceId, version: deps.version }, 1);
    this.concurrency.set(deps.worker ? deps.concurrency : 0);
    for (const s of STATUSES) this.tasks.set({ status: s }, 0);
  }

  /** The exposition format's Content-Type (text format 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }

  private counter<L extends string>(name: string, help: string, labelNames: L[] = []): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private gauge<L extends string>(name: string, help: string, labelNames: L[] = []): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  /** Subscribes to the worker's attempt events. */
  attach(): void {
    if (!this.deps.worker || this.listener) return;
    this.listener = (e) => this.observeAttempt(e);
    this.deps.worker.events.on("attempt", this.listener);
  }

  detach(): void {
    if (this.listener) this.deps.worker?.events.off("attempt", this.listener);
    this.listener = null;
  }

  observeAttempt(e: AttemptEvent): void {
    const labels = { type: e.type, outcome: e.outcome };
    this.attempts.inc(labels);
    this.duration.observe(labels, e.durationMs / 1000);
    this.queueLatency.observe({ type: e.type }, e.queueLatencyMs / 1000);
  }

  observeRecovery(tasks: RecoveredTask[]): void {
    this.takeovers.inc();
    for (const t of tasks) this.recovered.inc({ status: t.status });
  }

  /** The exposition text: this instance's series and the process's default metrics; never rejects. */
  async render(): Promise<string> {
    this.running.set(this.deps.worker?.runningIds().length ?? 0);
    try {
      const g = await this.sqlGauges();
      this.dbUp.set(1);
      // Replaced whole on each read, so a status or type that is gone drops out of the output.
      this.tasks.reset();
      for (const s of STATUSES) this.tasks.set({ status: s }, g.byStatus[s] ?? 0);
      this.depth.reset();
      for (const d of g.depth) this.depth.set({ status: d.status, type: d.type }, d.tasks);
      this.oldestDue.set(g.oldestDueSeconds);
      this.instances.set({ state: "alive" }, g.instancesAlive);
      this.instances.set({ state: "dead" }, g.instancesDead);
      this.setQueueGauges(g.queues);
    } catch (err) {
      // Keep the last known SQL gauges; say the database could not be read.
      this.dbUp.set(0);
      this.deps.log.debug({ err: (err as Error).message }, "metrics: SQL gauges unavailable");
    }
    return Registry.merge([this.registry, processRegistry()]).metrics();
  }

  /**
   * A waiting task's reason is the first gate that holds it: its parents, then paused, then a full
   * queue, then the rate window.
   */
  private setQueueGauges(queues: Gauges["queues"]): void {
    this.queueSaturation.reset();
    this.queueRateSaturation.reset();
    this.queueWaiting.reset();
    for (const q of queues) {
      this.queueSaturation.set({ queue: q.name }, q.running / q.concurrency);
      if (q.rateLimit) this.queueRateSaturation.set({ queue: q.name }, q.startsInWindow / q.rateLimit);
      const reason = q.paused
        ? "paused"
        : q.running >= q.concurrency
          ? "concurrency"
          : q.rateLimit && q.startsInWindow >= q.rateLimit
            ? "rate_limit"
            : "scheduled";
      const held = q.waiting - q.waitingForParents;
      this.queueWaiting.set({ queue: q.name, reason: "parents" }, q.waitingForParents);
      for (const r of ["paused", "concurrency", "rate_limit", "scheduled"]) this.queueWaiting.set({ queue: q.name, reason: r }, r === reason ? held : 0);
    }
  }

  private async sqlGauges(): Promise<Gauges> {
    if (this.cache && Date.now() - this.cache.at < SQL_CACHE_MS) return this.cache.value;
    this.reading ??= (async () => {
      try {
        const db = this.deps.database.db;
        const [base, queues] = await withTimeout(Promise.all([readSqlGauges(db, this.deps.deadAfterMs), queueGauges(db)]), SQL_TIMEOUT_MS);
        const value = { ...base, queues };
        this.cache = { at: Date.now(), value };
        return value;
      } finally {
        this.reading = null;
      }
    })();
    return this.reading;
  }
}

type Gauges = SqlGauges & { queues: Awaited<ReturnType<typeof queueGauges>> };

