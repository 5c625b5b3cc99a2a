/** Retention pruning queries (the statements themselves are SQL functions in 0003_sql_surface.sql). */
import { type Kysely, sql } from "kysely";
import type { DB } from "../types.js";

type Q = Kysely<DB>;

/**
 * One short transaction: deletes up to `limit` completed/canceled tasks finished before
 * completedBefore and up to `limit` failed ones finished before failedBefore (null keeps them),
 * oldest first, FOR UPDATE SKIP LOCKED, with their conversations and logs. Returns rows deleted.
 */
export async function pruneTasksBatch(
  db: Q,
  p: { completedBefore: Date | null; failedBefore: Date | null; limit: number },
): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select baton.prune_tasks(${p.completedBefore}::timestamptz, ${p.failedBefore}::timestamptz, ${p.limit}::int) as n`.execute(db);
  return rows[0].n;
}

/** Deletes rows of instances stopped before `before` that hold nothing. */
export async function pruneInstances(db: Q, before: Date): Promise<number> {
  const { rows } = await sql<{ n: number }>`select baton.prune_instances(${before}::timestamptz) as n`.execute(db);
  return rows[0].n;
}
