/** Queries on baton.conversations (child records of a task). */
import type { Kysely } from "kysely";
import { sql } from "kysely";
import { notFound } from "../../domain/errors.js";
import type { Conversation, DB } from "../types.js";

type Q = Kysely<DB>;

export async function listConversations(db: Q, taskId: number): Promise<Conversation[]> {
  return db.selectFrom("baton.conversations").selectAll().where("taskId", "=", taskId).orderBy("id").execute();
}

export async function addConversations(
  db: Q,
  taskId: number,
  items: { role?: string; content: string; status?: string }[],
): Promise<Conversation[]> {
  if (items.length === 0) return [];
  return db
    .insertInto("baton.conversations")
    .values(items.map((c) => ({ taskId, role: c.role ?? "user", content: c.content, status: c.status ?? "pending" })))
    .returningAll()
    .execute();
}

/** Updates one conversation; with `taskId`, only if it belongs to that task (else NOT_FOUND). */
export async function updateConversation(
  db: Q,
  id: number,
  patch: { role?: string; content?: string; status?: string },
  scope: { taskId?: number } = {},
): Promise<Conversation> {
  const row = await db
    .updateTable("baton.conversations")
    .set({ ...patch, updatedAt: sql`now()` } as never)
    .where("id", "=", id)
    .$if(scope.taskId !== undefined, (q) => q.where("taskId", "=", scope.taskId!))
    .returningAll()
    .executeTakeFirst();
  if (!row) throw notFound("conversation", id);
  return row;
}

/** Sets the status of all of a task's conversations (e.g. `processed` when a handler is done). */
export async function markConversations(db: Q, taskId: number, status: string): Promise<number> {
  const r = await db
    .updateTable("baton.conversations")
    .set({ status, updatedAt: sql`now()` } as never)
    .where("taskId", "=", taskId)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

export async function deleteConversation(db: Q, id: number): Promise<void> {
  const r = await db.deleteFrom("baton.conversations").where("id", "=", id).executeTakeFirst();
  if (Number(r.numDeletedRows) === 0) throw notFound("conversation", id);
}
