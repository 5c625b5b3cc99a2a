/**
 * What the torture run reads from the database. Lost, duplicated and stuck come from the rows
 * (baton.tasks and the outcome rows in baton.task_logs), never from timing on the client side.
 */
import type { Sql } from "./faults.js";

export interface Verdict {
  acknowledged: number;
  completed: number;
  failed: number;
  canceled: number;
  /** acknowledged and missing from baton.tasks */
  gone: number[];
  /** acknowledged, present, not terminal */
  open: number[];
  /** more than one `succeeded` outcome row */
  duplicated: number[];
}

/** Terminal state and succeeded outcome rows of every acknowledged id. */
export async function verdict(sql: Sql, ids: number[]): Promise<Verdict> {
  const rows = await sql<{ id: number; status: string | null; succeeded: number }[]>`
    select a.id, t.status,
           (select count(*)::int from baton.task_logs l where l.task_id = a.id and l.event = 'succeeded') as succeeded
    from unnest(${ids}::bigint[]) as a(id) left join baton.tasks t on t.id = a.id`;
  const v: Verdict = { acknowledged: ids.length, completed: 0, failed: 0, canceled: 0, gone: [], open: [], duplicated: [] };
  for (const r of rows) {
    if (r.status === null) v.gone.push(r.id);
    else if (r.status === "completed") v.completed++;
    else if (r.status === "failed") v.failed++;
    else if (r.status === "canceled") v.canceled++;
    else v.open.push(r.id);
    if (r.succeeded > 1) v.duplicated.push(r.id);
  }
  return v;
}

/** Lost in the issue's sense: acknowledged but never finished, or gone. */
export const lost = (v: Verdict): number[] => [...v.gone, ...v.open];

/** Tasks that reached a terminal status, per whole second (epoch seconds) in [from, to). */
export async function finishedPerSecond(sql: Sql, from: number, to: number): Promise<Map<number, number>> {
  const rows = await sql<{ s: number; n: number }[]>`
    select floor(extract(epoch from finished_at))::bigint as s, count(*)::int as n
    from baton.tasks
    where finished_at >= to_timestamp(${from / 1000}) and finished_at < to_timestamp(${to / 1000})
      and status in ('completed', 'failed', 'canceled')
    group by 1`;
  return new Map(rows.map((r) => [r.s, r.n]));
}

/**
 * Create → first start of the tasks created in [from, to) by the load (not the schedule), in ms.
 * The first attempt's start is on its outcome row; a task whose first attempt is still running has
 * it on the task row only. A workflow's children are left out: they wait for their parents by
 * design (the workflow figures check that wait instead).
 */
export async function createToStart(sql: Sql, from: number, to: number): Promise<number[]> {
  const rows = await sql<{ ms: number | null }[]>`
    select extract(epoch from (coalesce(
             (select min(l.started_at) from baton.task_logs l where l.task_id = t.id and l.attempt = 1),
             t.started_at) - t.created_at)) * 1000 as ms
    from baton.tasks t
    where t.created_at >= to_timestamp(${from / 1000}) and t.created_at < to_timestamp(${to / 1000})
      and t.schedule_id is null
      and not exists (select 1 from baton.task_dependencies d where d.task_id = t.id)`;
  return rows.map((r) => Number(r.ms)).filter((x) => Number.isFinite(x));
}

export interface TableStat {
  table: string;
  live: number;
  dead: number;
  bytes: number;
}

const TABLES = [
  ["baton", "tasks"],
  ["baton", "task_logs"],
  ["graphile_worker", "_private_jobs"],
] as const;

/**
 * Live rows (counted exactly: the cumulative statistics start from zero after a crash restart),
 * dead tuples (those statistics: after an immediate restart they restart from zero too) and total
 * size with indexes and TOAST.
 */
export async function tableStats(sql: Sql): Promise<TableStat[]> {
  const rows = await sql<{ schema: string; table: string; dead: number; bytes: number }[]>`
    select s.schemaname as schema, s.relname as table, s.n_dead_tup::bigint as dead,
           pg_total_relation_size(s.relid)::bigint as bytes
    from pg_stat_user_tables s
    where s.schemaname in ('baton', 'graphile_worker') and s.relname in ('tasks', 'task_logs', '_private_jobs')`;
  const live = await rowCounts(sql);
  const liveOf: Record<string, number> = { "baton.tasks": live.tasks, "baton.task_logs": live.taskLogs, "graphile_worker._private_jobs": live.jobs };
  return TABLES.map(([schema, table]) => {
    const r = rows.find((x) => x.schema === schema && x.table === table);
    return { table: `${schema}.${table}`, live: liveOf[`${schema}.${table}`], dead: r?.dead ?? 0, bytes: r?.bytes ?? 0 };
  });
}

export interface Firings {
  expected: number;
  fired: number;
  missed: number;
  doubled: number;
}

/**
 * Firings of an every-second schedule for the due times in [from, to): missed are due times on
 * its grid with no task, doubled are due times with more than one (the unique key on
 * (schedule_id, scheduled_for) should make that impossible).
 */
export async function firings(sql: Sql, scheduleId: number, anchorMs: number, everyMs: number, from: number, to: number): Promise<Firings> {
  const first = anchorMs + Math.ceil((from - anchorMs) / everyMs) * everyMs;
  const expected = first < to ? Math.floor((to - 1 - first) / everyMs) + 1 : 0;
  const rows = await sql<{ due: number; n: number }[]>`
    select extract(epoch from scheduled_for) * 1000 as due, count(*)::int as n
    from baton.tasks
    where schedule_id = ${scheduleId}
      and scheduled_for >= to_timestamp(${first / 1000}) and scheduled_for < to_timestamp(${to / 1000})
    group by 1`;
  const onGrid = rows.filter((r) => Math.abs((Number(r.due) - anchorMs) % everyMs) < 1);
  return {
    expected,
    fired: onGrid.length,
    missed: Math.max(0, expected - onGrid.length),
    doubled: rows.filter((r) => r.n > 1).length,
  };
}

/** Client connections of baton (not the harness's) to one database. */
export async function batonConnections(sql: Sql, database: string, harnessApp: string): Promise<number> {
  const [{ n }] = await sql<{ n: number }[]>`
    select count(*)::int as n from pg_stat_activity
    where datname = ${database} and backend_type = 'client backend' and coalesce(application_name, '') not like ${`${harnessApp}%`}`;
  return n;
}

/** Exact row counts of the tables that settle (the soak watches them grow or not). */
export async function rowCounts(sql: Sql): Promise<Record<string, number>> {
  const [r] = await sql<{ tasks: number; taskLogs: number; jobs: number; instances: number }[]>`
    select (select count(*) from baton.tasks)::int as tasks,
           (select count(*) from baton.task_logs)::int as "taskLogs",
           (select count(*) from graphile_worker._private_jobs)::int as jobs,
           (select count(*) from baton.instances)::int as instances`;
  return { ...r };
}

/** Tasks by open status (backlog for the progress line). */
export async function openCounts(sql: Sql): Promise<Record<string, number>> {
  const rows = await sql<{ status: string; n: number }[]>`
    select status, count(*)::int as n from baton.tasks
    where status in ('pending', 'processing', 'retrying', 'waiting', 'backlog') group by status`;
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** Ids of the tasks not yet terminal: what a fault hits in flight. */
export async function openIds(sql: Sql): Promise<number[]> {
  const rows = await sql<{ id: number }[]>`
    select id from baton.tasks where status in ('pending', 'processing', 'retrying', 'waiting', 'backlog')`;
  return rows.map((r) => r.id);
}

/** When the last of these tasks reached its terminal status (epoch ms), or null if none has. */
export async function lastFinished(sql: Sql, ids: number[]): Promise<number | null> {
  const [{ at }] = await sql<{ at: number | null }[]>`
    select extract(epoch from max(finished_at)) * 1000 as at from baton.tasks where id = any(${ids}::bigint[])`;
  return at === null ? null : Number(at);
}
