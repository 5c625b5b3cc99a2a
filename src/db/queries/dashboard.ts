/**
 * Read-only queries behind the dashboard pages. Times that matter for "how long ago" (heartbeat
 * age) are computed by Postgres against its own clock, so instance clock skew does not show.
 */
import { type Kysely, sql } from "kysely";
import type { DB, Schedule, TaskStatus } from "../types.js";

type Q = Kysely<DB>;

/** Outcome rows that end an attempt (started and note rows are not outcomes). */
const ATTEMPT_OUTCOMES = ["succeeded", "failed", "retry_scheduled"] as const;

export interface Throughput {
  /** Tasks that reached completed / failed in the window (outcome rows in task_logs). */
  completed5m: number;
  failed5m: number;
  completed60m: number;
  failed60m: number;
  /** 60 one-minute buckets, oldest first; the last one is the current (partial) minute. */
  perMinute: { minute: string; completed: number; failed: number }[];
}

/**
 * Throughput over the last 5 and 60 minutes and per minute for the chart. Served by
 * task_logs_created_idx (range on created_at); one pass over the last hour's outcome rows.
 */
export async function throughput(db: Q): Promise<Throughput> {
  const { rows } = await sql<{ minute: Date; completed: number; failed: number; completed5m: number; failed5m: number }>`
    with w as (
      select date_trunc('minute', created_at) as minute, event, created_at
      from baton.task_logs
      where created_at >= date_trunc('minute', now()) - interval '59 minutes'
        and event in ('succeeded', 'failed')
    ), m as (
      select gs as minute
      from generate_series(date_trunc('minute', now()) - interval '59 minutes', date_trunc('minute', now()), interval '1 minute') gs
    )
    select m.minute,
      count(w.event) filter (where w.event = 'succeeded')::int as completed,
      count(w.event) filter (where w.event = 'failed')::int as failed,
      (select count(*) from w where event = 'succeeded' and created_at > now() - interval '5 minutes')::int as completed5m,
      (select count(*) from w where event = 'failed' and created_at > now() - interval '5 minutes')::int as failed5m
    from m left join w on w.minute = m.minute
    group by m.minute order by m.minute`.execute(db);
  const perMinute = rows.map((r) => ({ minute: new Date(r.minute).toISOString(), completed: r.completed, failed: r.failed }));
  const first = rows[0];
  return {
    completed5m: first?.completed5m ?? 0,
    failed5m: first?.failed5m ?? 0,
    completed60m: perMinute.reduce((n, b) => n + b.completed, 0),
    failed60m: perMinute.reduce((n, b) => n + b.failed, 0),
    perMinute,
  };
}

export interface TypeStats {
  type: string;
  succeeded: number;
  failed: number;
  retried: number;
  /** succeeded / (succeeded + failed + retried) over attempts that ended; null when none did. */
  successRate: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
}

/**
 * Success rate and p50/p95 attempt duration per task type over the last `hours`, from the outcome
 * rows in task_logs (one per attempt: succeeded, failed, retry_scheduled). Rows written by a bulk
 * status report carry no duration and count only towards the rate.
 */
export async function typeStats(db: Q, hours = 24): Promise<TypeStats[]> {
  const { rows } = await sql<{ type: string; succeeded: number; failed: number; retried: number; p50: number | null; p95: number | null }>`
    select t.type,
      count(*) filter (where l.event = 'succeeded')::int as succeeded,
      count(*) filter (where l.event = 'failed')::int as failed,
      count(*) filter (where l.event = 'retry_scheduled')::int as retried,
      percentile_cont(0.5) within group (order by l.duration_ms) as p50,
      percentile_cont(0.95) within group (order by l.duration_ms) as p95
    from baton.task_logs l
    join baton.tasks t on t.id = l.task_id
    where l.created_at > now() - ${hours} * interval '1 hour'
      and l.event in (${sql.join(ATTEMPT_OUTCOMES.map((e) => sql.lit(e)))})
    group by t.type
    order by t.type`.execute(db);
  return rows.map((r) => {
    const ended = r.succeeded + r.failed + r.retried;
    return {
      type: r.type,
      succeeded: r.succeeded,
      failed: r.failed,
      retried: r.retried,
      successRate: ended ? r.succeeded / ended : null,
      p50Ms: r.p50 === null ? null : Math.round(Number(r.p50)),
      p95Ms: r.p95 === null ? null : Math.round(Number(r.p95)),
    };
  });
}

export interface InstanceRow {
  id: string;
  host: string;
  port: number | null;
  pid: number;
  version: string;
  concurrency: number;
  startedAt: Date;
  heartbeatAt: Date;
  stoppedAt: Date | null;
  heartbeatAgeMs: number;
  alive: boolean;
  running: number;
}

/**
 * Instances that run, died, or stopped within the last day, newest first, with the age of their
 * last heartbeat by the database clock and the number of tasks each holds.
 */
export async function instancesOverview(db: Q, deadAfterMs: number): Promise<InstanceRow[]> {
  const { rows } = await sql<InstanceRow>`
    select i.id, i.host, i.port, i.pid, i.version, i.concurrency, i.started_at, i.heartbeat_at, i.stopped_at,
      (extract(epoch from now() - i.heartbeat_at) * 1000)::bigint as heartbeat_age_ms,
      (i.stopped_at is null and i.heartbeat_at > now() - ${deadAfterMs} * interval '1 millisecond') as alive,
      (select count(*) from baton.tasks t where t.status = 'processing' and t.locked_by = i.id)::int as running
    from baton.instances i
    where i.stopped_at is null or i.stopped_at > now() - interval '1 day'
    order by (i.stopped_at is null) desc, i.started_at desc
    limit 200`.execute(db);
  return rows;
}

/** Task counts per type and status (task types page). */
export async function countsByType(db: Q): Promise<Map<string, Partial<Record<TaskStatus, number>>>> {
  const rows = await db
    .selectFrom("baton.tasks")
    .select(["type", "status", (eb) => eb.fn.countAll<number>().as("n")])
    .groupBy(["type", "status"])
    .execute();
  const out = new Map<string, Partial<Record<TaskStatus, number>>>();
  for (const r of rows) {
    const m = out.get(r.type) ?? {};
    m[r.status] = Number(r.n);
    out.set(r.type, m);
  }
  return out;
}

/**
 * Distinct task types present in the table (for the filter, besides the registry). A loose index
 * scan over tasks_type_id_idx: one index probe per distinct type instead of reading every row.
 */
export async function taskTypeNames(db: Q): Promise<string[]> {
  const { rows } = await sql<{ type: string }>`
    with recursive t(type) as (
      (select type from baton.tasks order by type limit 1)
      union all
      select (select x.type from baton.tasks x where x.type > t.type order by x.type limit 1)
      from t where t.type is not null
    )
    select type from t where type is not null limit 500`.execute(db);
  return rows.map((r) => r.type);
}

/** Schedules for the schedules page, by name. */
export async function listSchedules(db: Q, limit = 500): Promise<Schedule[]> {
  return db.selectFrom("baton.schedules").selectAll().orderBy("name").limit(limit).execute();
}

/**
 * Registers (or renews) this instance as having open dashboard pages: while any registration is
 * unexpired, changes to tasks and schedules send NOTIFY baton_events (migrations/0005_events.sql).
 * Also clears registrations that expired long ago.
 */
export async function watchDashboard(db: Q, instanceId: string, clients: number, ttlMs: number): Promise<void> {
  await sql`
    with gone as (delete from baton.dashboard_watchers where expires_at < now() - interval '1 hour')
    insert into baton.dashboard_watchers (instance_id, clients, expires_at)
    values (${instanceId}, ${clients}, now() + ${ttlMs} * interval '1 millisecond')
    on conflict (instance_id) do update set clients = excluded.clients, expires_at = excluded.expires_at`.execute(db);
}

/** Ends this instance's registration (at shutdown). */
export async function unwatchDashboard(db: Q, instanceId: string): Promise<void> {
  await sql`delete from baton.dashboard_watchers where instance_id = ${instanceId}`.execute(db);
}
