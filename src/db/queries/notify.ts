/** Queries for notification deliveries (tasks of the internal type `notify`). */
import type { Kysely } from "kysely";
import type { DB, Task } from "../types.js";

type Q = Kysely<DB>;

/** The latest deliveries, newest first (settings page). Served by tasks_type_id_idx. */
export async function recentDeliveries(
  db: Q,
  limit = 20,
): Promise<Pick<Task, "id" | "title" | "status" | "attempts" | "maxAttempts" | "lastError" | "result" | "createdAt" | "finishedAt">[]> {
  return db
    .selectFrom("baton.tasks")
    .select(["id", "title", "status", "attempts", "maxAttempts", "lastError", "result", "createdAt", "finishedAt"])
    .where("type", "=", "notify")
    .orderBy("id", "desc")
    .limit(limit)
    .execute();
}
