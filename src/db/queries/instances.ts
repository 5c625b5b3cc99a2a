/** Queries on baton.instances: registration, heartbeats, liveness. */
import { type Kysely, sql } from "kysely";
import type { DB, Instance } from "../types.js";

type Q = Kysely<DB>;

export async function registerInstance(
  db: Q,
  i: { id: string; host: string; port: number | null; pid: number; version: string; concurrency: number },
): Promise<void> {
  await db
    .insertInto("baton.instances")
    .values({ ...i, startedAt: sql`now()`, heartbeatAt: sql`now()`, stoppedAt: null } as never)
    .onConflict((oc) =>
      oc.column("id").doUpdateSet({
        host: i.host,
        port: i.port,
        pid: i.pid,
        version: i.version,
        concurrency: i.concurrency,
        workerPoolId: null,
        startedAt: sql`now()`,
        heartbeatAt: sql`now()`,
        stoppedAt: null,
      } as never),
    )
    .execute();
}

export async function setWorkerPool(db: Q, id: string, poolId: string): Promise<void> {
  await db.updateTable("baton.instances").set({ workerPoolId: poolId }).where("id", "=", id).execute();
}

export async function setPort(db: Q, id: string, port: number): Promise<void> {
  await db.updateTable("baton.instances").set({ port }).where("id", "=", id).execute();
}

export async function heartbeat(db: Q, id: string): Promise<void> {
  await db.updateTable("baton.instances").set({ heartbeatAt: sql`now()` } as never).where("id", "=", id).execute();
}

export async function markStopped(db: Q, id: string): Promise<void> {
  await db.updateTable("baton.instances").set({ stoppedAt: sql`now()` } as never).where("id", "=", id).execute();
}

/** Instances that are not stopped and have sent a heartbeat within deadAfterMs. */
export async function liveInstances(db: Q, deadAfterMs: number): Promise<(Instance & { running: number })[]> {
  const rows = await sql<Instance & { running: number }>`
    select i.*, (select count(*) from baton.tasks t where t.status = 'processing' and t.locked_by = i.id)::int as running
    from baton.instances i
    where i.stopped_at is null and i.heartbeat_at > now() - ${deadAfterMs} * interval '1 millisecond'
    order by i.started_at`.execute(db);
  return rows.rows;
}
