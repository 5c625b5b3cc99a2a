/**
 * The systems behind one interface, so every stage measures them the same way: bulk enqueue in
 * one transaction, "is anything left", "how many are left", history rows for the scale case, a
 * probe job at the top priority, and worker processes with a named configuration.
 */
import { createPostgresBackend, Queue } from "bullmq";
import { makeWorkerUtils, runMigrations, type WorkerUtils } from "graphile-worker";
import { PgBoss } from "pg-boss";
import type { Sql } from "../../src/db/client.js";
import { createDatabase, type Database } from "../../src/db/client.js";
import { migrate } from "../../src/db/migrate.js";
import { insertTasks, type NewTask } from "../../src/db/queries/tasks.js";
import { call } from "./http.js";
import type { BenchOptions, SystemName } from "./options.js";
import { connect } from "./postgres.js";
import { type Child, childEntry, spawnChild } from "./proc.js";

export interface WorkerConfig {
  /** Label in the results, e.g. "graphile-worker (batched)". */
  label: string;
  system: SystemName;
  env: Record<string, string>;
  /** The settings, as written in the results. */
  settings: string;
  /** The documentation the settings follow, and why. */
  source: string;
  /** Only run when named with --configs. */
  optIn?: boolean;
}

export interface EnqueueOptions {
  /**
   * Jobs of the continuous load, which the probe must be able to overtake. Only BullMQ needs
   * this: it runs jobs without a priority before every prioritized job, so its load carries a
   * low priority (10) and the probe priority 1.
   */
  background?: boolean;
  /** baton only: the tasks' queues, assigned round-robin (task i goes to queues[i % length]). */
  queues?: string[];
}

export interface System {
  name: SystemName;
  url: string;
  admin: Sql;
  /** How the probe's "priority 9" is expressed in this system. */
  priorityNote: string;
  /** Empties the queue and history (between repetitions). */
  reset(): Promise<void>;
  /** Queues n no-op jobs; chunks of `chunk` per transaction (default: all in one). */
  enqueueBulk(n: number, chunk?: number, opts?: EnqueueOptions): Promise<void>;
  /** True while any job is queued or running. */
  busy(): Promise<boolean>;
  /** Jobs queued or running. */
  remaining(): Promise<number>;
  /** Rows of finished work kept as history (scale case); 0 when the system keeps none. */
  addHistory(n: number): Promise<number>;
  /**
   * Creates one probe job that carries `sent`; its handler reports when it starts. With
   * `top`, at the system's equivalent of baton priority 9 (see priorityNote).
   */
  probe(sent: number, workers: Child[], top: boolean): Promise<unknown>;
  startWorkers(cfg: WorkerConfig, count: number, logDir: string): Promise<Child[]>;
  close(): Promise<void>;
}

const chunks = (n: number, size: number) => {
  const out: number[] = [];
  for (let left = n; left > 0; left -= size) out.push(Math.min(size, left));
  return out;
};

function spawnAll(cfg: WorkerConfig, count: number, logDir: string, child: string, env: Record<string, string>): Promise<Child[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) => spawnChild(`${slug(cfg.label)}-${i + 1}`, childEntry(child), { ...env, ...cfg.env }, logDir)),
  );
}

// ------------------------------------------------------------------ baton

export class Baton implements System {
  readonly name = "baton" as const;
  readonly priorityNote = "priority 9 (higher runs sooner; the load has 0), created over HTTP";
  readonly admin: Sql;
  readonly database: Database;
  constructor(readonly url: string) {
    this.admin = connect(url);
    this.database = createDatabase(url, 4);
  }
  async setup() {
    await migrate(this.admin, this.url);
  }
  async reset() {
    await this.admin.unsafe("truncate baton.tasks cascade; truncate graphile_worker._private_jobs, graphile_worker._private_job_queues cascade");
  }
  async enqueueBulk(n: number, chunk = n, opts: EnqueueOptions = {}) {
    const q = opts.queues?.length ? opts.queues : undefined;
    let i = 0;
    for (const c of chunks(n, chunk)) {
      const rows: NewTask[] = Array.from({ length: c }, () => (q ? { type: "noop", queue: q[i++ % q.length] } : { type: "noop" }));
      await insertTasks(this.database.db, rows, { ids: true });
    }
  }
  /**
   * Replaces every baton.queues row with these (no row: tasks of a queue keep graphile-worker's
   * named queue). Run on an empty tasks table: a new row re-admits the queue's unstarted tasks.
   */
  async setQueues(rows: { name: string; concurrency: number; rateLimit?: { limit: number; perSeconds: number } }[]) {
    await this.admin.begin(async (tx) => {
      await tx`delete from baton.queues`;
      if (rows.length) {
        await tx`
          insert into baton.queues (name, concurrency, rate_limit)
          select x.name, x.concurrency, x.rate_limit
          from jsonb_to_recordset(${JSON.stringify(rows.map((r) => ({ name: r.name, concurrency: r.concurrency, rate_limit: r.rateLimit ?? null })))}::text::jsonb)
            as x(name text, concurrency int, rate_limit jsonb)`;
      }
    });
  }
  async busy() {
    // Cheap while jobs remain (graphile_worker's table is small); the task check runs only at the
    // end (OR evaluates its second sub-select only when the first is false). `waiting`: tasks of a
    // queue with a baton.queues row, which have no job until baton.admit releases them.
    const [r] = await this.admin`
      select exists(select 1 from graphile_worker._private_jobs)
          or exists(select 1 from baton.tasks where status in ('waiting', 'pending', 'processing', 'retrying')) as b`;
    return r.b as boolean;
  }
  async remaining() {
    const [r] = await this.admin`select count(*)::int as n from baton.tasks where status in ('waiting', 'pending', 'processing', 'retrying')`;
    return r.n as number;
  }
  /** n completed tasks with their succeeded outcome rows, as a drained queue leaves them. */
  async addHistory(n: number) {
    for (const c of chunks(n, 200_000)) {
      await this.admin`
        with t as (
          insert into baton.tasks (type, status, attempts, started_at, finished_at, result, created_at, updated_at)
          select 'noop', 'completed', 1, now() - interval '1 hour', now() - interval '1 hour', 'null'::jsonb,
                 now() - interval '1 hour', now() - interval '1 hour'
          from generate_series(1, ${c})
          returning id
        )
        insert into baton.task_logs (task_id, attempt, event, instance_id, started_at, duration_ms, created_at)
        select id, 1, 'succeeded', 'bench-history', now() - interval '1 hour', 0, now() - interval '1 hour'
        from t`;
    }
    return n;
  }
  probe(sent: number, workers: Child[], top: boolean) {
    const url = String(workers[0].ready.url);
    return call(`${url}/api/tasks`, "POST", { type: "bench.probe", payload: { sent }, ...(top ? { priority: 9 } : {}) }, [201]);
  }
  startWorkers(cfg: WorkerConfig, count: number, logDir: string) {
    return Promise.all(
      Array.from({ length: count }, (_, i) =>
        spawnChild(`${slug(cfg.label)}-${i + 1}`, childEntry("baton"), {
          DATABASE_URL: this.url,
          PORT: "0",
          HOST: "127.0.0.1",
          INSTANCE_ID: `bench-${slug(cfg.label)}-${i + 1}`,
          LOG_LEVEL: "warn",
          ...cfg.env,
        }, logDir),
      ),
    );
  }
  async close() {
    await this.admin.end();
    await this.database.close();
  }
}

// ------------------------------------------------------------------ graphile-worker

export class Graphile implements System {
  readonly name = "graphile-worker" as const;
  readonly priorityNote = "priority -9 (graphile-worker runs lower numbers first; the load has 0)";
  readonly admin: Sql;
  utils!: WorkerUtils;
  constructor(readonly url: string) {
    this.admin = connect(url);
  }
  async setup() {
    await runMigrations({ connectionString: this.url });
    this.utils = await makeWorkerUtils({ connectionString: this.url });
  }
  async reset() {
    await this.admin.unsafe("truncate graphile_worker._private_jobs, graphile_worker._private_job_queues cascade");
  }
  async enqueueBulk(n: number, chunk = n) {
    for (const c of chunks(n, chunk)) {
      await this.utils.addJobs(Array.from({ length: c }, () => ({ identifier: "noop", payload: {} })));
    }
  }
  async busy() {
    const [r] = await this.admin`select exists(select 1 from graphile_worker._private_jobs) as b`;
    return r.b as boolean;
  }
  async remaining() {
    const [r] = await this.admin`select count(*)::int as n from graphile_worker._private_jobs`;
    return r.n as number;
  }
  async addHistory() {
    return 0; // graphile-worker deletes a job when it completes: there is no history to keep
  }
  probe(sent: number, _workers: Child[], top: boolean) {
    return this.utils.addJob("probe", { sent }, top ? { priority: -9 } : {});
  }
  startWorkers(cfg: WorkerConfig, count: number, logDir: string) {
    return spawnAll(cfg, count, logDir, "graphile", { DATABASE_URL: this.url, NO_LOG_SUCCESS: "1" });
  }
  async close() {
    await this.utils?.release();
    await this.admin.end();
  }
}

// ------------------------------------------------------------------ pg-boss

/** The one pg-boss queue: load and probes share it, so a probe competes with the load. */
export const BOSS_QUEUE = "noop";

export class Boss implements System {
  readonly name = "pg-boss" as const;
  readonly priorityNote = "priority 9 on the load's queue (higher runs sooner; the load has 0)";
  readonly admin: Sql;
  boss!: PgBoss;
  constructor(readonly url: string) {
    this.admin = connect(url);
  }
  async setup() {
    // The orchestrator only creates the queue and sends; the workers run pg-boss's maintenance.
    this.boss = new PgBoss({ connectionString: this.url, schedule: false, supervise: false });
    this.boss.on("error", (err: Error) => process.stderr.write(`pg-boss: ${err.message}\n`));
    await this.boss.start();
    // partition: a dedicated table for a large queue (pg-boss docs, Introduction); notify: wake
    // workers on insert (Workers › Low-latency dispatch with LISTEN/NOTIFY).
    if (!(await this.boss.getQueue(BOSS_QUEUE))) await this.boss.createQueue(BOSS_QUEUE, { partition: true, notify: true });
  }
  async reset() {
    await this.admin.unsafe("truncate pgboss.job");
  }
  async enqueueBulk(n: number, chunk = n) {
    for (const c of chunks(n, chunk)) {
      await this.boss.insert(BOSS_QUEUE, Array.from({ length: c }, () => ({ data: {} })));
    }
  }
  async busy() {
    const [r] = await this.admin`
      select exists(select 1 from pgboss.job where name = ${BOSS_QUEUE} and state < 'active')
          or exists(select 1 from pgboss.job where name = ${BOSS_QUEUE} and state = 'active') as b`;
    return r.b as boolean;
  }
  async remaining() {
    const [r] = await this.admin`select count(*)::int as n from pgboss.job where name = ${BOSS_QUEUE} and state < 'completed'`;
    return r.n as number;
  }
  /** n completed jobs kept in the queue's table, as pg-boss keeps them (deleteAfterSeconds: 7 days). */
  async addHistory(n: number) {
    for (const c of chunks(n, 200_000)) {
      await this.admin`
        insert into pgboss.job (name, data, state, policy, started_on, completed_on, created_on)
        select ${BOSS_QUEUE}, '{}'::jsonb, 'completed', (select policy from pgboss.queue where name = ${BOSS_QUEUE}),
               now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour'
        from generate_series(1, ${c})`;
    }
    return n;
  }
  probe(sent: number, _workers: Child[], top: boolean) {
    return this.boss.send(BOSS_QUEUE, { sent }, top ? { priority: 9 } : {});
  }
  startWorkers(cfg: WorkerConfig, count: number, logDir: string) {
    return spawnAll(cfg, count, logDir, "pgboss", { DATABASE_URL: this.url });
  }
  async close() {
    await this.boss?.stop({ graceful: false, timeout: 1000 });
    await this.admin.end();
  }
}

// ------------------------------------------------------------------ BullMQ (PostgreSQL backend)

export const BULL_QUEUE = "bench";

// migrate: the schema is created explicitly, once, here (docs: "Connections do not apply
// migrations automatically"); the workers connect to it as it is.
const bullQueue = (url: string) => new Queue(BULL_QUEUE, { connection: { connectionString: url, migrate: true, max: 4 } }, createPostgresBackend);

export class Bull implements System {
  readonly name = "bullmq" as const;
  readonly priorityNote =
    "priority 1 (lower runs sooner, and jobs without a priority run before all prioritized ones, so the continuous load carries priority 10)";
  readonly admin: Sql;
  queue!: ReturnType<typeof bullQueue>;
  constructor(readonly url: string) {
    this.admin = connect(url);
  }
  async setup() {
    this.queue = bullQueue(this.url);
    this.queue.on("error", (err: Error) => process.stderr.write(`bullmq: ${err.message}\n`));
    await this.queue.waitUntilReady();
  }
  async reset() {
    await this.admin.unsafe("truncate bullmq.job, bullmq.event cascade");
  }
  async enqueueBulk(n: number, chunk = n, opts: EnqueueOptions = {}) {
    const jobOpts = opts.background ? { priority: 10 } : {};
    for (const c of chunks(n, chunk)) {
      await this.queue.addBulk(Array.from({ length: c }, () => ({ name: "noop", data: {}, opts: jobOpts })));
    }
  }
  async busy() {
    const [r] = await this.admin`
      select exists(select 1 from bullmq.job where queue = ${BULL_QUEUE} and state in ('waiting', 'active', 'delayed')) as b`;
    return r.b as boolean;
  }
  async remaining() {
    const [r] = await this.admin`select count(*)::int as n from bullmq.job where queue = ${BULL_QUEUE} and state in ('waiting', 'active', 'delayed')`;
    return r.n as number;
  }
  async addHistory() {
    return 0; // removeOnComplete: BullMQ deletes a job when it completes, as its docs recommend
  }
  probe(sent: number, _workers: Child[], top: boolean) {
    return this.queue.add("probe", { sent }, top ? { priority: 1 } : {});
  }
  startWorkers(cfg: WorkerConfig, count: number, logDir: string) {
    return spawnAll(cfg, count, logDir, "bullmq", { DATABASE_URL: this.url });
  }
  async close() {
    await this.queue?.close();
    await this.admin.end();
  }
}

export function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
}

/**
 * Every worker configuration, each with its settings and the documentation they follow. The
 * concurrency is the same everywhere: `concurrency` jobs held per process.
 */
export function allConfigs(o: BenchOptions): WorkerConfig[] {
  const c = String(o.concurrency);
  const bossLocal = o.concurrency / o.bossBatchSize;
  return [
    {
      label: "baton",
      system: "baton",
      env: { WORKER_CONCURRENCY: c },
      settings: `WORKER_CONCURRENCY=${c}; every other setting as shipped (effective values below)`,
      source: "as shipped (README configuration table); only the concurrency is set, to the common value",
    },
    {
      label: "baton (localQueue off)",
      system: "baton",
      env: { WORKER_CONCURRENCY: c, WORKER_LOCAL_QUEUE_SIZE: "0" },
      settings: `WORKER_CONCURRENCY=${c}, WORKER_LOCAL_QUEUE_SIZE=0`,
      source: "opt-in: single-job claims, as graphile-worker (default)",
      optIn: true,
    },
    {
      label: "baton (localQueue 500)",
      system: "baton",
      env: { WORKER_CONCURRENCY: c, WORKER_LOCAL_QUEUE_SIZE: String(o.localQueue), WORKER_COMPLETE_BATCH_DELAY_MS: String(o.completeBatchDelayMs) },
      settings: `WORKER_CONCURRENCY=${c}, WORKER_LOCAL_QUEUE_SIZE=${o.localQueue}, WORKER_COMPLETE_BATCH_DELAY_MS=${o.completeBatchDelayMs}`,
      source: "opt-in: the local queue of batched graphile-worker",
      optIn: true,
    },
    {
      label: "graphile-worker (default)",
      system: "graphile-worker",
      env: { BENCH_GW_MODE: "default", BENCH_CONCURRENCY: c },
      settings: `run({ concurrency: ${c} }), every other worker setting at its default`,
      source: "graphile-worker's defaults: the engine baton embeds, as it comes",
    },
    {
      label: "graphile-worker (batched)",
      system: "graphile-worker",
      env: {
        BENCH_GW_MODE: "batched",
        BENCH_CONCURRENCY: c,
        BENCH_LOCAL_QUEUE: String(o.localQueue),
        BENCH_COMPLETE_BATCH_DELAY: String(o.completeBatchDelayMs),
        BENCH_GW_POOL: String(o.gwPool),
      },
      settings:
        `run({ concurrency: ${c}, maxPoolSize: ${o.gwPool}, preset: { worker: { localQueue: { size: ${o.localQueue} }, ` +
        `completeJobBatchDelay: ${o.completeBatchDelayMs}, failJobBatchDelay: ${o.completeBatchDelayMs} } } })`,
      source:
        "worker.graphile.org/docs/performance: the configuration of its published figures (localQueue size 500, completeJobBatchDelay 0, " +
        "failJobBatchDelay 0, maxPoolSize 25); concurrency is the common value instead of its 24. Both graphile-worker configurations run " +
        "the installed graphile-worker, which carries baton's install-time patch (patches/: the local queue hands fetched jobs out in claim order)",
    },
    {
      label: "pg-boss",
      system: "pg-boss",
      env: { BENCH_BOSS_BATCH_SIZE: String(o.bossBatchSize), BENCH_BOSS_LOCAL_CONCURRENCY: String(bossLocal) },
      settings:
        `new PgBoss({ useListenNotify: true }) (supervise and schedule at their defaults); createQueue('${BOSS_QUEUE}', { partition: true, notify: true }); ` +
        `work('${BOSS_QUEUE}', { batchSize: ${o.bossBatchSize}, localConcurrency: ${bossLocal}, burstWhenBatchFull: true }) ` +
        `(${bossLocal} × ${o.bossBatchSize} = ${o.concurrency} jobs held per process); insert() for bulk creation`,
      source:
        "pgboss.io/api/workers: batchSize with burstWhenBatchFull fetches again at once while fetches come back full (instead of waiting " +
        "pollingIntervalSeconds, 2 s), localConcurrency runs parallel workers in one process; LISTEN/NOTIFY (useListenNotify + queue notify) " +
        "for low-latency dispatch; pgboss.io/introduction: a partitioned queue gets its own table for a large backlog",
    },
    {
      label: "bullmq",
      system: "bullmq",
      env: { BENCH_CONCURRENCY: c, BENCH_BULLMQ_POOL: String(o.bullmqPool) },
      settings:
        `new Worker('${BULL_QUEUE}', processor, { connection: { connectionString, max: ${o.bullmqPool} }, concurrency: ${c}, ` +
        `removeOnComplete: { count: 0 }, removeOnFail: { count: 1000 } }, createPostgresBackend); addBulk() for bulk creation`,
      source:
        "docs.bullmq.io/guide/postgresql (Tuning tips): a pool per backend for its concurrency (its statements are short; the page gives " +
        "no number), removeOnComplete / removeOnFail so finished jobs don't accumulate, bulk enqueue with addBulk; " +
        "guide/workers/concurrency: the concurrency factor; synchronous_commit is left on (same server settings for all)",
    },
  ];
}

/** The worker configurations of this run: the default set, or those named with --configs. */
export function workerConfigs(o: BenchOptions): WorkerConfig[] {
  return allConfigs(o).filter((w) => o.systems.includes(w.system) && (o.configs.length === 0 ? !w.optIn : o.configs.includes(slug(w.label))));
}
