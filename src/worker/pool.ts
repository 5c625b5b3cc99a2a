/**
 * The worker service: an in-process graphile-worker pool whose one task, `baton:run`, executes a
 * baton task. graphile-worker claims the job (FOR UPDATE SKIP LOCKED) and guarantees one pool
 * holds it; baton then does its own bookkeeping around the handler:
 *
 *   start   (batched) pending|retrying → processing, attempts+1, locked_by, started_at
 *   handler with an AbortSignal (timeout, cancel via NOTIFY baton_cancel, shutdown)
 *   finish  (batched) → completed | retrying (+ new job at now + backoff) | failed, outcome row
 *
 * The graphile_worker job itself always completes normally: retries are baton's (its backoff,
 * its attempts), so graphile-worker's fixed exp(attempts) formula never applies.
 */
import { EventEmitter } from "node:events";
import { hostname } from "node:os";
import { type JobHelpers, Logger, type Runner, run } from "graphile-worker";
import pg from "pg";
import type { Config } from "../config.js";
import { Batcher } from "../db/batcher.js";
import type { Database } from "../db/client.js";
import { setWorkerPool } from "../db/queries/instances.js";
import { admitQueue } from "../db/queries/queues.js";
import { releasePoolJobs } from "../db/queries/recovery.js";
import { finishTasks, type Outcome, returnTasks, startTasks } from "../db/queries/tasks.js";
import type { Task, TaskStatus } from "../db/types.js";
import { backoffDelayMs } from "../domain/backoff.js";
import { scrubNul } from "../domain/json.js";
import { withTimeout } from "../domain/timeout.js";
import type { Logger as Log } from "../log.js";
import { traceAttempt } from "../tracing/attempt.js";
import { attemptContext, TaskHandlers } from "./context.js";
import { CanceledError, PermanentError, RetryableError, ShutdownError, TimeoutError } from "./errors.js";
import type { OutboundClient } from "./outbound.js";
import { getTaskType } from "./registry.js";

export interface AttemptEvent {
  taskId: number;
  type: string;
  outcome: "succeeded" | "retry" | "failed" | "canceled" | "returned";
  durationMs: number;
  /** Time from run_at (or creation) to the start of this attempt. */
  queueLatencyMs: number;
  scheduleId: number | null;
}

export interface WorkerOptions {
  concurrency: number;
  pollIntervalMs: number;
  localQueueSize: number;
  completeBatchDelayMs: number;
  shutdownTimeoutMs: number;
}

interface Running {
  controller: AbortController;
  task: Task;
  done: Promise<void>;
}

export class WorkerService {
  readonly events = new EventEmitter();
  private runner: Runner | null = null;
  private readonly running = new Map<number, Running>();
  private readonly starts: Batcher<number, Task | null>;
  private readonly finishes: Batcher<Outcome, { id: number; status: TaskStatus; scheduleId: number | null } | null>;
  private unlisten: (() => Promise<void>) | null = null;
  private unlistenGate: (() => Promise<void>) | null = null;
  private stopped = false;
  private replacing: Promise<void> | null = null;
  private pool: { id: string; nudge(n: number): void } | null = null;
  private readonly wakeups = new Set<NodeJS.Timeout>();
  private readonly handlers: TaskHandlers;
  /** Each runner's pg pool, ended once that runner has let go of it (see workerPgPool). */
  private readonly pgPools = new Map<Runner, pg.Pool>();
  poolId: string | null = null;

  constructor(
    private readonly deps: { config: Config; database: Database; databaseUrl: string; log: Log; options: WorkerOptions; outbound: OutboundClient },
  ) {
    const { db } = deps.database;
    const me = deps.config.INSTANCE_ID;
    this.handlers = new TaskHandlers({ db, outbound: deps.outbound, instanceId: me });
    this.starts = new Batcher({
      run: async (ids) => {
        const rows = await startTasks(db, ids, me);
        const byId = new Map(rows.map((r) => [r.id, r]));
        return ids.map((id) => byId.get(id) ?? null);
      },
      maxSize: 1000,
      maxInFlight: 2,
    });
    this.finishes = new Batcher({
      run: async (outcomes) => {
        const rows = await finishTasks(db, outcomes, me);
        const byId = new Map(rows.map((r) => [r.id, r]));
        return outcomes.map((o) => byId.get(o.id) ?? null);
      },
      maxSize: 1000,
      maxInFlight: 2,
      // The handler has run: its outcome must not be lost to a database blip. Keep trying.
      retryForMs: 10 * 60_000,
      onRetry: (err, n) => deps.log.warn({ err, attempt: n }, "retrying outcome bookkeeping"),
    });
  }

  /** Task ids running on this instance right now. */
  runningIds(): number[] {
    return [...this.running.keys()];
  }

  async start(): Promise<void> {
    const { database, log, options } = this.deps;
    const events = new EventEmitter();
    // this runner's own pool id (this.poolId is the newest runner's)
    let poolId: string | null = null;
    events.on("pool:create", ({ workerPool }: { workerPool: { id: string; nudge(n: number): void } }) => {
      poolId = workerPool.id;
      this.poolId = workerPool.id;
      this.pool = workerPool;
    });
    events.on("pool:listen:error", ({ error }: { error: unknown }) => log.warn({ err: error }, "graphile-worker LISTEN error"));
    // postgres.js can leave a LISTEN waiting forever on a connection that closed as it opened:
    // bounded, so a replacement retries instead of hanging with no pool at all
    this.unlisten = await deadline(this.listenForCancels(), LISTEN_DEADLINE_MS, "LISTEN baton_cancel");
    this.unlistenGate ??= await deadline(this.listenForGates(), LISTEN_DEADLINE_MS, "LISTEN baton_gate");
    const pgPool = workerPgPool(this.deps.databaseUrl, Math.min(options.concurrency + 2, 50), log);
    const runner = await run({
      pgPool,
      concurrency: options.concurrency,
      noHandleSignals: true,
      pollInterval: options.pollIntervalMs,
      logger: gwLogger(log),
      events,
      taskList: {
        "baton:run": (payload, helpers) => this.runJob(payload as { id: number }, helpers),
        // A queue's rate window (or a waiting task's run_at) opened: admit what it allows now
        // (migrations/0011_queues.sql schedules this job; baton.admit reschedules it if needed).
        "baton:admit": async (payload) => {
          await admitQueue(database.db, String((payload as { queue: string }).queue));
        },
      },
      preset: {
        worker: {
          localQueue: options.localQueueSize > 1 ? { size: options.localQueueSize } : undefined,
          completeJobBatchDelay: options.completeBatchDelayMs,
          failJobBatchDelay: options.completeBatchDelayMs,
          gracefulShutdownAbortTimeout: options.shutdownTimeoutMs + 5000,
        },
      },
    }).catch(async (err: unknown) => {
      await pgPool.end().catch(() => {});
      throw err;
    });
    // From here on the runner claims jobs: it is adopted and supervised before anything else can
    // fail, or a failure would leave it running unseen, and its jobs locked for 4 hours once it
    // shut down on its own.
    this.runner = runner;
    this.pgPools.set(runner, pgPool);
    this.supervise(runner, events, poolId);
    log.info({ concurrency: options.concurrency, poolId }, "worker pool started");
    if (poolId) await this.recordPool(runner, poolId);
  }

  /**
   * Records the pool id on the instance row (recovery releases a dead instance's pool jobs by it),
   * retrying while this runner is still the current one: a newer runner records its own.
   */
  private async recordPool(runner: Runner, poolId: string): Promise<void> {
    const { config, database, log } = this.deps;
    for (let attempt = 0; !this.stopped && this.runner === runner; attempt++) {
      try {
        await setWorkerPool(database.db, config.INSTANCE_ID, poolId);
        return;
      } catch (err) {
        log.warn({ err: (err as Error).message, attempt, poolId }, "could not record the worker pool yet; retrying");
        await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * 2 ** attempt)));
      }
    }
  }

  /**
   * Stops claiming, lets running tasks finish for up to shutdownTimeoutMs, then aborts the rest;
   * those go back to pending (with a new job) for another instance to pick up.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.replacing;
    const runner = this.runner;
    if (!runner) return;
    this.runner = null;
    const { log, options } = this.deps;
    // Taken before stop(): runner.promise can settle before stop() has released the pool.
    const pgPool = this.pgPools.get(runner);
    this.pgPools.delete(runner);
    const stopping = runner.stop();
    const timer = setTimeout(() => {
      if (this.running.size) log.warn({ tasks: this.runningIds() }, "shutdown timeout: returning running tasks to pending");
      for (const r of this.running.values()) r.controller.abort(new ShutdownError());
    }, options.shutdownTimeoutMs);
    try {
      await Promise.all([...this.running.values()].map((r) => r.done));
      await this.finishes.drain();
      await stopping;
      await pgPool?.end().catch((err: unknown) => log.warn({ err: (err as Error).message }, "could not end graphile-worker's pg pool"));
    } finally {
      clearTimeout(timer);
      for (const t of this.wakeups) clearTimeout(t);
      this.wakeups.clear();
      await this.unlisten?.();
      await this.unlistenGate?.();
      this.unlistenGate = null;
    }
  }

  /**
   * graphile-worker finds future jobs only by polling (pollInterval). A retry this instance
   * scheduled wakes the pool at its run_at instead, so backoff gaps are what the policy says,
   * not rounded up to the poll interval. (Other instances still see it on their next poll.)
   */
  private wakeAt(delayMs: number): void {
    const t = setTimeout(() => {
      this.wakeups.delete(t);
      this.pool?.nudge(1);
    }, delayMs + 5);
    t.unref();
    this.wakeups.add(t);
  }

  /**
   * graphile-worker 0.18 shuts its whole pool down when one job completion fails (its batch retry
   * gives up on the first error), which a database restart mid-completion does; and that shutdown
   * can then wait forever on its completion batcher. The process would stay up but claim nothing
   * ever again. A pool that starts shutting down without stop() being called is therefore
   * replaced at once (retrying until the database answers) and left to wind down on its own, and
   * the jobs it still had locked are released, so they do not wait out the 4-hour lock timeout.
   */
  private supervise(runner: Runner, events: EventEmitter, poolId: string | null): void {
    const lost = (why: string) => {
      if (this.runner !== runner || this.stopped) return; // stopped on purpose, or already replaced
      this.runner = null;
      this.deps.log.error({ poolId, why }, "graphile-worker pool is shutting down on its own; starting a new one");
      this.replacing = this.replaceRunner(poolId).finally(() => {
        this.replacing = null;
      });
    };
    events.on("pool:gracefulShutdown", ({ message }: { message?: string }) => lost(message ?? "graceful shutdown"));
    // A runner that stopped on its own has released everything by the time its promise settles
    // (graphile-worker's stop() awaits its releasers first): its pg pool can end now.
    const ended = () => {
      const pgPool = this.pgPools.get(runner);
      this.pgPools.delete(runner);
      pgPool?.end().catch(() => {});
    };
    runner.promise.then(
      () => {
        lost("runner exited");
        ended();
      },
      (err) => {
        lost(String(err));
        ended();
      },
    );
  }

  private async replaceRunner(oldPool: string | null): Promise<void> {
    const { config, database, log } = this.deps;
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await deadline(this.unlisten?.() ?? Promise.resolve(), LISTEN_DEADLINE_MS, "UNLISTEN baton_cancel").catch(() => {});
        this.unlisten = null;
        await this.start();
        break;
      } catch (err) {
        log.warn({ err: (err as Error).message, attempt }, "could not start a new worker pool yet; retrying");
        const until = Date.now() + Math.min(10_000, 500 * 2 ** attempt);
        while (!this.stopped && Date.now() < until) await new Promise((r) => setTimeout(r, 250));
      }
    }
    if (!oldPool || !this.runner) return;
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        const released = await releasePoolJobs(database.db, oldPool);
        log.warn({ oldPool, released, instanceId: config.INSTANCE_ID }, "released the jobs of the stopped worker pool");
        return;
      } catch (err) {
        log.warn({ err: (err as Error).message }, "could not release the old pool's jobs yet; retrying");
        await new Promise((r) => setTimeout(r, Math.min(10_000, 500 * 2 ** attempt)));
      }
    }
  }

  /** Aborts a task running on this instance (cancel arrives through NOTIFY baton_cancel). */
  abort(taskId: number, reason: Error = new CanceledError()): boolean {
    const r = this.running.get(taskId);
    if (!r) return false;
    r.controller.abort(reason);
    return true;
  }

  private async listenForCancels(): Promise<() => Promise<void>> {
    const { session: sql } = this.deps.database; // LISTEN needs a session (WORKER_DATABASE_URL)
    const sub = await sql.listen(
      "baton_cancel",
      (payload) => {
        const id = Number(payload);
        if (this.abort(id)) this.deps.log.info({ taskId: id }, "cancel received; handler aborted");
      },
      () => this.deps.log.debug("listening on baton_cancel"),
    );
    return () => sub.unlisten();
  }

  /**
   * baton.admit schedules a `baton:admit` job when a rate window opens and NOTIFYs baton_gate
   * with the delay; graphile-worker would find that future job only on its next poll
   * (WORKER_POLL_INTERVAL_MS, 1 s), so every instance wakes its pool at that moment instead.
   */
  private async listenForGates(): Promise<() => Promise<void>> {
    const { session: sql } = this.deps.database; // LISTEN needs a session (WORKER_DATABASE_URL)
    const sub = await sql.listen("baton_gate", (payload) => {
      try {
        const { inMs } = JSON.parse(payload) as { inMs: number };
        if (Number.isFinite(inMs) && !this.stopped) this.wakeAt(Math.max(0, inMs));
      } catch {
        // a malformed payload (someone's own NOTIFY) wakes nothing
      }
    });
    return () => sub.unlisten();
  }

  private async runJob(payload: { id: number }, helpers: JobHelpers): Promise<void> {
    const task = await this.starts.push(Number(payload.id));
    if (!task) return; // canceled, deleted or reported done meanwhile: nothing to run
    const controller = new AbortController();
    let release!: () => void;
    const done = new Promise<void>((r) => {
      release = r;
    });
    this.running.set(task.id, { controller, task, done });
    try {
      await this.execute(task, controller, helpers.job.job_queue_id !== null);
    } finally {
      this.running.delete(task.id);
      release();
    }
  }

  private async execute(task: Task, controller: AbortController, serial: boolean): Promise<void> {
    const { config, database, log } = this.deps;
    const t0 = performance.now();
    const queueLatencyMs = Math.max(0, Date.now() - Math.max(+new Date(task.runAt), +new Date(task.createdAt)));
    const timer = task.timeoutMs ? setTimeout(() => controller.abort(new TimeoutError(task.timeoutMs!)), task.timeoutMs) : null;
    const emit = (outcome: AttemptEvent["outcome"]) =>
      this.events.emit("attempt", {
        taskId: task.id,
        type: task.type,
        outcome,
        durationMs: performance.now() - t0,
        queueLatencyMs,
        scheduleId: task.scheduleId,
      } satisfies AttemptEvent);
    let outcome: Outcome;
    try {
      const result = await traceAttempt(task, config.INSTANCE_ID, controller.signal, () => this.invoke(task, controller.signal));
      outcome = { id: task.id, attempt: task.attempts, outcome: "succeeded", result: scrubNul(result ?? null), durationMs: performance.now() - t0 };
    } catch (thrown) {
      const err = controller.signal.aborted ? controller.signal.reason : thrown;
      if (err instanceof CanceledError) {
        emit("canceled"); // cancel_task wrote the outcome row and the status
        return;
      }
      if (err instanceof ShutdownError) {
        await returnTasks(database.db, [task.id], config.INSTANCE_ID, "instance shut down before the attempt finished");
        emit("returned");
        return;
      }
      const message = scrubNul(errorText(err)) as string;
      const permanent = err instanceof PermanentError;
      const left = task.attempts < task.maxAttempts;
      if (!permanent && left) {
        const backoff = backoffDelayMs(task.attempts, task.backoff);
        const hinted = err instanceof RetryableError && err.retryAfterMs ? Math.min(err.retryAfterMs, task.backoff.maxMs) : 0;
        outcome = { id: task.id, attempt: task.attempts, outcome: "retry", error: message, delayMs: Math.max(backoff, hinted), durationMs: performance.now() - t0 };
      } else {
        outcome = { id: task.id, attempt: task.attempts, outcome: "failed", error: message, durationMs: performance.now() - t0 };
      }
      log.debug({ taskId: task.id, err: message, outcome: outcome.outcome }, "attempt failed");
    } finally {
      if (timer) clearTimeout(timer);
    }
    // The handler has returned, so its slot is free: the outcome joins the next finish batch and
    // the worker takes its next job while that batch commits (the attempt's own graphile_worker
    // job is completed meanwhile; a crash before the outcome commits leaves the task processing
    // without a job, which recovery handles exactly as a crash during the handler). Tasks of a
    // serial queue (graphile-worker's named queue: a queue without a baton.queues row) wait for
    // their outcome, so the next task of the queue starts only after it. A queue with a row needs
    // no wait: its next task is admitted by the finish's own transaction.
    const recorded = this.finishes.push(outcome).then(
      (row) => {
        if (row) emit(outcome.outcome);
        if (row && outcome.outcome === "retry" && this.runner) this.wakeAt(outcome.delayMs ?? 0);
      },
      (err) => log.error({ err, taskId: task.id, outcome: outcome.outcome }, "outcome bookkeeping failed; the task stays processing until recovered"),
    );
    if (serial) await recorded;
  }

  /** Validates the payload and runs the handler; resolves or rejects no later than the abort. */
  private async invoke(task: Task, signal: AbortSignal): Promise<unknown> {
    const type = getTaskType(task.type);
    if (!type) throw new PermanentError(`unknown task type '${task.type}'`);
    const parsed = type.params.safeParse(task.payload ?? {});
    if (!parsed.success) {
      throw new PermanentError(`invalid payload: ${parsed.error.issues.map((i) => `${i.path.join(".") || "payload"}: ${i.message}`).join("; ")}`);
    }
    const { database, config, outbound } = this.deps;
    const { ctx, settle } = attemptContext({ db: database.db, task, signal, instanceId: config.INSTANCE_ID, outbound });
    const aborted = new Promise<never>((_, reject) => {
      if (signal.aborted) reject(signal.reason);
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
    aborted.catch(() => {});
    try {
      return await Promise.race([this.handlers.of(type)(parsed.data, ctx), aborted]);
    } finally {
      // the last progress lands before the outcome (whose statement ends `processing`)
      await settle();
    }
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/** How long a LISTEN or UNLISTEN may take before a pool (re)start counts it as failed. */
const LISTEN_DEADLINE_MS = 10_000;

/** `p`, or a rejection naming `what` once `ms` have passed. */
const deadline = <T>(p: Promise<T>, ms: number, what: string): Promise<T> => withTimeout(p, ms, `${what} did not finish within ${ms} ms`);

/**
 * graphile-worker's pg pool, made by baton so that its error listeners outlive the runner.
 *
 * pg emits an error of an idle client (57P01 when its backend is terminated) on the pool, and an
 * error of a checked-out client with no query running on the client: with no listener either is
 * an uncaught exception. graphile-worker 0.18 (dist/lib.js installErrorHandlers) adds both
 * listeners to a pool it makes from connectionString, but its releasers run last-in first-out, so
 * releasing a runner first removes them and only then calls pgPool.end() (not awaited): a client
 * still open then (a checked-out one being returned, the LISTEN client, an idle one still
 * closing) whose backend is terminated throws from the pool's emit('error'). That is what
 * killed instances when a runner that shut itself down was released during
 * pg_terminate_backend. Its LISTEN client's own handler (main.js onErrorReleaseClientAndTryAgain)
 * is likewise removed when that client is released. With a pool that already has `error` and
 * `connect` listeners graphile-worker installs none of its own, and these stay until the pool
 * has ended; pg discards the failed client itself, so logging is all they need to do.
 */
function workerPgPool(connectionString: string, max: number, log: Log): pg.Pool {
  // a connect that hangs fails instead (node-postgres waits forever by default)
  const pool = new pg.Pool({ connectionString, max, connectionTimeoutMillis: 10_000 });
  pool.on("error", (err) => log.warn({ err: err.message, code: (err as { code?: string }).code }, "graphile-worker idle database connection failed"));
  pool.on("connect", (client) => {
    client.on("error", (err) => log.warn({ err: err.message, code: (err as { code?: string }).code }, "graphile-worker database connection failed"));
  });
  return pool;
}

function gwLogger(log: Log): Logger {
  return new Logger((scope) => (level, message, meta) => {
    const l = level === "error" ? "error" : level === "warning" ? "warn" : "debug";
    // graphile-worker logs every job ("Found task", "Completed task"): skip the object building
    // when the level is off (it is, at LOG_LEVEL=info).
    if (!log.isLevelEnabled(l)) return;
    log[l]({ component: "graphile-worker", ...scope, ...(meta ?? {}) }, message);
  });
}

export const hostName = hostname();
