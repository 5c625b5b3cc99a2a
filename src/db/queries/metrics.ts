/** SQL-side gauges for /metrics, read in one round trip per scrape (cached briefly by the caller). */
import { type Kysely, sql } from "kysely";
import type { DB, TaskStatus } from "../types.js";

type Q = Kysely<DB>;

export interface SqlGauges {
  byStatus: Partial<Record<TaskStatus, number>>;
  /** Unfinished tasks by status and type (from baton.queue_depth). */
  depth: { status: TaskStatus; type: string; tasks: number }[];
  /** Age of the most overdue claimable (pending/retrying, run_at passed) task; 0 when none. */
  oldestDueSeconds: number;
  instancesAlive: number;
  /** Silent past their window and not yet taken over. */
  instancesDead: number;
}

/**
 * Cost: the status count is an index-only scan of tasks_status_id_idx (all rows); the depth and
 * oldest-due parts read the unfinished rows only. At millions of rows that is tens to hundreds of
 * milliseconds, which is why the caller caches the result for a few seconds.
 */
export async function readSqlGauges(db: Q, deadAfterMs: number): Promise<SqlGauges> {
  const { rows } = await sql<{
    byStatus: Record<string, number> | null;
    depth: { status: TaskStatus; type: string; tasks: number }[] | null;
    oldestDueSeconds: number | null;
    instancesAlive: number;
    instancesDead: number;
  }>`
    select
      (select jsonb_object_agg(status, n) from (
         select status, count(*) as n from baton.tasks group by status) s) as by_status,
      (select jsonb_agg(jsonb_build_object('status', status, 'type', type, 'tasks', n)) from (
         select status, type, sum(tasks)::bigint as n from baton.queue_depth group by status, type) d) as depth,
      (select extract(epoch from now() - min(run_at))::float8 from baton.tasks
        where status in ('pending', 'retrying') and run_at <= now()) as oldest_due_seconds,
      (select count(*)::int from baton.instances i
        where i.stopped_at is null and not baton.instance_is_dead(i, ${deadAfterMs}::int)) as instances_alive,
      (select count(*)::int from baton.instances i
        where baton.instance_is_dead(i, ${deadAfterMs}::int)) as instances_dead`.execute(db);
  const r = rows[0];
  return {
    byStatus: Object.fromEntries(Object.entries(r.byStatus ?? {}).map(([k, v]) => [k, Number(v)])),
    depth: (r.depth ?? []).map((d) => ({ ...d, tasks: Number(d.tasks) })),
    oldestDueSeconds: Math.max(0, Number(r.oldestDueSeconds ?? 0)),
    instancesAlive: r.instancesAlive,
    instancesDead: r.instancesDead,
  };
}
