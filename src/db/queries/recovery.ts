/**
 * Crash-recovery queries. The take-over itself is the SQL function baton.recover_instance
 * (migrations/0003_sql_surface.sql) so a DBA can run exactly what an instance runs.
 */
import { type Kysely, sql } from "kysely";
import type { DB, TaskStatus } from "../types.js";

type Q = Kysely<DB>;

/**
 * Keeps this instance's row honest, once per recovery tick, in one statement: its dead-after
 * window (so every other instance and the instance_health view judge it by its own setting) and
 * its worker pool id. If another instance declared it dead and took its work over (stopped_at
 * set while this process is running: it was paused or cut off longer than the window), the row
 * is re-opened and `wasRecovered` is true so the caller can abort the attempts it lost.
 */
export async function announce(
  db: Q,
  p: { id: string; deadAfterMs: number; poolId: string | null },
): Promise<{ found: boolean; wasRecovered: boolean }> {
  const { rows } = await sql<{ wasRecovered: boolean }>`
    with prev as (
      select id, stopped_at from baton.instances where id = ${p.id} for update
    ), upd as (
      update baton.instances i set
        dead_after_ms = ${p.deadAfterMs},
        worker_pool_id = coalesce(${p.poolId}::text, i.worker_pool_id),
        stopped_at = null,
        heartbeat_at = case when prev.stopped_at is null then i.heartbeat_at else now() end
      from prev
      where i.id = prev.id
        and (i.dead_after_ms is distinct from ${p.deadAfterMs}
             or (${p.poolId}::text is not null and i.worker_pool_id is distinct from ${p.poolId}::text)
             or i.stopped_at is not null)
      returning i.id
    )
    select prev.stopped_at is not null as was_recovered from prev`.execute(db);
  return { found: rows.length > 0, wasRecovered: rows[0]?.wasRecovered ?? false };
}

/**
 * Instances to take over: silent past their window (their own dead_after_ms, else ours), or
 * stopped while still holding processing tasks. Excludes this instance. The dead-instance set is
 * tiny; the `processing` lookup is the status = 'processing' range of tasks_status_id_idx (only
 * the running tasks; locked_by is checked on those rows, migrations/0009_lean_task_indexes.sql).
 */
export async function recoveryCandidates(db: Q, me: string, deadAfterMs: number): Promise<string[]> {
  const { rows } = await sql<{ id: string }>`
    select i.id from baton.instances i
    where i.id <> ${me}
      and (baton.instance_is_dead(i, ${deadAfterMs}::int)
           or (i.stopped_at is not null
               and exists (select 1 from baton.tasks t where t.status = 'processing' and t.locked_by = i.id)))
    order by i.heartbeat_at`.execute(db);
  return rows.map((r) => r.id);
}

export interface RecoveredTask {
  taskId: number;
  status: Extract<TaskStatus, "retrying" | "failed">;
  attempt: number;
}

/**
 * One transaction: claims the dead instance's row (FOR UPDATE SKIP LOCKED, so one live instance
 * does it), moves its processing tasks to retrying or failed with `recovered` rows, force-unlocks
 * and replaces its graphile_worker jobs, marks it stopped. Empty when someone else got there first,
 * or when it turned out alive.
 */
export async function recoverInstance(db: Q, id: string, by: string, deadAfterMs: number): Promise<RecoveredTask[]> {
  const { rows } = await sql<RecoveredTask>`
    select task_id, status, attempt from baton.recover_instance(${id}, ${by}, false, ${deadAfterMs}::int)`.execute(db);
  return rows;
}

/** Current status and owner of tasks this process believes it is running. */
export async function taskOwners(db: Q, ids: number[]): Promise<{ id: number; status: TaskStatus; lockedBy: string | null }[]> {
  if (ids.length === 0) return [];
  const { rows } = await sql<{ id: number; status: TaskStatus; lockedBy: string | null }>`
    select id, status, locked_by from baton.tasks where id = any(${ids}::bigint[])`.execute(db);
  return rows;
}

/**
 * Releases the jobs a worker pool of this process still had locked when it stopped unexpectedly
 * (see WorkerService): unlocked, deleted, and re-queued for tasks that are pending or retrying.
 */
export async function releasePoolJobs(db: Q, poolId: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`select baton.release_pool_jobs(array[${poolId}::text]) as n`.execute(db);
  return rows[0].n;
}
