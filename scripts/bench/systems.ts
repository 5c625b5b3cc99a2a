/**
 * The three systems behind one interface, so every stage measures them the same way:
 * bulk enqueue in one transaction, "is anything left", "how many are left", history rows for the
 * scale case, and worker processes with a named configuration.
 */
import { makeWorkerUtils, runMigrations, type WorkerUtils } from "graphile-worker";
import { PgBoss } from "pg-boss";
import type { Sql } from "../../src/db/client.js";
import { createDatabase, type Database } from "../../src/db/client.js";
import { migrate } from "../../src/db/migrate.js";
import { insertTasks, type NewTask } from "../../src/db/queries/tasks.js";
import type { BenchOptions, SystemName } from "./options.js";
import { connect } from "./postgres.js";
import { type Child, childEntry, spawnChild } from "./proc.js";

export interface WorkerConfig {
  /** Label in the results, e.g. "graphile-worker (batched)". */
  label: string;
  system: SystemName;
  env: Record<string, string>;
}

export interface System {
  name: SystemName;
  url: string;
  admin: Sql;
  /** Empties the queue and history (between repetitions). */
  reset(): Promise<void>;
  /** Queues n no-op jobs; chunks of `chunk` per transaction (default: all in one). */
  enqueueBulk(n: number, chunk?: number): Promise<void>;
  /** True while any job is queued or running. */
  busy(): Promise<boolean>;
  /** Jobs queued or running. */
  remaining(): Promise<number>;
  /** Rows of finished work kept as history (scale case); 0 when the system keeps none. */
  addHistory(n: number): Promise<number>;
  startWorkers(cfg: WorkerConfig, count: number, logDir: string): Promise<Child[]>;
  close(): Promise<void>;
}

const chunks = (n: number, size: number) => {
  const out: number[] = [];
  for (let left = n; left > 0; left -= size) out.push(Math.min(size, left));
  return out;
};

// ------------------------------------------------------------------ baton

export class Baton implements System {
  readonly name = "baton" as const;
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
  async enqueueBulk(n: number, chunk = n) {
    for (const c of chunks(n, chunk)) {
      const rows: NewTask[] = Array.from({ length: c }, () => ({ type: "noop" }));
      await insertTasks(this.database.db, rows);
    }
  }
  async busy() {
    // Cheap while jobs remain (graphile_worker's table is small); the task check runs only at the
    // end (OR evaluates its second sub-select only when the first is false).
    const [r] = await this.admin`
      select exists(select 1 from graphile_worker._private_jobs)
          or exists(select 1 from baton.tasks where status in ('pending', 'processing', 'retrying')) as b`;
    return r.b as boolean;
  }
  async remaining() {
    const [r] = await this.admin`select count(*)::int as n from baton.tasks where status in ('pending', 'processing', 'retrying')`;
    return r.n as number;
  }
  /** n completed tasks with their started and succeeded log rows, as a drained queue leaves them. */
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
        insert into baton.task_logs (task_id, attempt, event, instance_id, duration_ms, created_at)
        select id, 1, e, 'bench-history', case when e = 'succeeded' then 0 end, now() - interval '1 hour'
        from t cross join unnest(array['started', 'succeeded']) e`;
    }
    return n;
  }
  async startWorkers(cfg: WorkerConfig, count: number, logDir: string) {
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
  async startWorkers(cfg: WorkerConfig, count: number, logDir: string) {
    return Promise.all(
      Array.from({ length: count }, (_, i) =>
        spawnChild(`${slug(cfg.label)}-${i + 1}`, childEntry("graphile"), {
          DATABASE_URL: this.url,
          NO_LOG_SUCCESS: "1",
          ...cfg.env,
        }, logDir),
      ),
    );
  }
  async close() {
    await this.utils?.release();
    await this.admin.end();
  }
}

// ------------------------------------------------------------------ pg-boss

export class Boss implements System {
  readonly name = "pg-boss" as const;
  readonly admin: Sql;
  boss!: PgBoss;
  constructor(readonly url: string) {
    this.admin = connect(url);
  }
  async setup() {
    this.boss = new PgBoss({ connectionString: this.url, schedule: false, supervise: false });
    this.boss.on("error", (err: Error) => process.stderr.write(`pg-boss: ${err.message}\n`));
    await this.boss.start();
    for (const q of ["noop", "probe"]) if (!(await this.boss.getQueue(q))) await this.boss.createQueue(q);
  }
  async reset() {
    await this.admin.unsafe("truncate pgboss.job, pgboss.archive");
  }
  async enqueueBulk(n: number, chunk = n) {
    for (const c of chunks(n, chunk)) {
      await this.boss.insert("noop", Array.from({ length: c }, () => ({ data: {} })));
    }
  }
  async busy() {
    // job_i5 indexes the queued states; active jobs have no index, so they are looked at last.
    const [r] = await this.admin`
      select exists(select 1 from pgboss.job where name = 'noop' and state < 'active')
          or exists(select 1 from pgboss.job where name = 'noop' and state = 'active') as b`;
    return r.b as boolean;
  }
  async remaining() {
    const [r] = await this.admin`select count(*)::int as n from pgboss.job where name = 'noop' and state < 'completed'`;
    return r.n as number;
  }
  /** n completed jobs kept in pgboss.job, as pg-boss keeps them until archiving (12 h by default). */
  async addHistory(n: number) {
    for (const c of chunks(n, 200_000)) {
      await this.admin`
        insert into pgboss.job (name, data, state, started_on, completed_on, created_on)
        select 'noop', '{}'::jsonb, 'completed', now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour'
        from generate_series(1, ${c})`;
    }
    return n;
  }
  async startWorkers(cfg: WorkerConfig, count: number, logDir: string) {
    return Promise.all(
      Array.from({ length: count }, (_, i) =>
        spawnChild(`${slug(cfg.label)}-${i + 1}`, childEntry("pgboss"), {
          DATABASE_URL: this.url,
          ...cfg.env,
        }, logDir),
      ),
    );
  }
  async close() {
    await this.boss?.stop({ graceful: false, timeout: 1000 });
    await this.admin.end();
  }
}

export function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
}

/** The worker configurations compared in the processing and scale stages. */
export function workerConfigs(o: BenchOptions): WorkerConfig[] {
  const c = String(o.concurrency);
  const all: WorkerConfig[] = [
    { label: "baton", system: "baton", env: { WORKER_CONCURRENCY: c } },
    {
      label: "baton (localQueue)",
      system: "baton",
      env: { WORKER_CONCURRENCY: c, WORKER_LOCAL_QUEUE_SIZE: String(o.localQueue), WORKER_COMPLETE_BATCH_DELAY_MS: String(o.completeBatchDelayMs) },
    },
    { label: "graphile-worker (default)", system: "graphile-worker", env: { BENCH_GW_MODE: "default", BENCH_CONCURRENCY: c } },
    {
      label: "graphile-worker (batched)",
      system: "graphile-worker",
      env: { BENCH_GW_MODE: "batched", BENCH_CONCURRENCY: c, BENCH_LOCAL_QUEUE: String(o.localQueue), BENCH_COMPLETE_BATCH_DELAY: String(o.completeBatchDelayMs) },
    },
    { label: "pg-boss", system: "pg-boss", env: { BENCH_BOSS_LOOPS: String(o.bossLoops), BENCH_BOSS_BATCH_SIZE: String(o.bossBatchSize) } },
  ];
  return all.filter((w) => o.systems.includes(w.system) && (o.configs.length === 0 || o.configs.includes(slug(w.label))));
}
