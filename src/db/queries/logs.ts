/** Queries on baton.task_logs. System rows are read-only; rows with source = 'api' are notes. */
import type { Kysely } from "kysely";
import { AppError, notFound } from "../../domain/errors.js";
import type { DB, LogEvent, TaskLog } from "../types.js";

type Q = Kysely<DB>;

export interface LogFilter {
  taskId?: number;
  event?: LogEvent;
  instanceId?: string;
  since?: Date;
  until?: Date;
  limit: number;
  /** id of the last row of the previous page (rows are newest first). */
  cursor?: number;
}

export async function listLogs(db: Q, f: LogFilter): Promise<{ items: TaskLog[]; total: number; next: number | null }> {
  let q = db.selectFrom("baton.taskLogs");
  if (f.taskId) q = q.where("taskId", "=", f.taskId);
  if (f.event) q = q.where("event", "=", f.event);
  if (f.instanceId) q = q.where("instanceId", "=", f.instanceId);
  if (f.since) q = q.where("createdAt", ">=", f.since);
  if (f.until) q = q.where("createdAt", "<", f.until);
  let page = q.selectAll();
  if (f.cursor) page = page.where("id", "<", f.cursor);
  const [items, count] = await Promise.all([
    page.orderBy("id", "desc").limit(f.limit + 1).execute(),
    q.select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow(),
  ]);
  const more = items.length > f.limit;
  if (more) items.pop();
  return { items, total: Number(count.n), next: more ? items[items.length - 1].id : null };
}

export async function getLog(db: Q, id: number): Promise<TaskLog> {
  const row = await db.selectFrom("baton.taskLogs").selectAll().where("id", "=", id).executeTakeFirst();
  if (!row) throw notFound("task log", id);
  return row;
}

export async function latestLogs(db: Q, taskId: number, limit: number): Promise<TaskLog[]> {
  const rows = await db
    .selectFrom("baton.taskLogs")
    .selectAll()
    .where("taskId", "=", taskId)
    .orderBy("id", "desc")
    .limit(limit)
    .execute();
  return rows.reverse();
}

export async function addNote(
  db: Q,
  note: { taskId: number; message: string; attempt?: number; instanceId?: string | null; source: "system" | "api"; event?: LogEvent },
): Promise<TaskLog> {
  return db
    .insertInto("baton.taskLogs")
    .values({
      taskId: note.taskId,
      attempt: note.attempt ?? 0,
      event: note.event ?? "note",
      instanceId: note.instanceId ?? null,
      message: note.message,
      source: note.source,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

async function requireApiRow(db: Q, id: number): Promise<void> {
  const row = await db.selectFrom("baton.taskLogs").select("source").where("id", "=", id).executeTakeFirst();
  if (!row) throw notFound("task log", id);
  if (row.source !== "api") throw new AppError("INVALID_STATE", `task log ${id} was written by the system and is read-only`);
}

export async function updateNote(db: Q, id: number, message: string): Promise<TaskLog> {
  await requireApiRow(db, id);
  return db.updateTable("baton.taskLogs").set({ message }).where("id", "=", id).returningAll().executeTakeFirstOrThrow();
}

export async function deleteNote(db: Q, id: number): Promise<void> {
  await requireApiRow(db, id);
  await db.deleteFrom("baton.taskLogs").where("id", "=", id).execute();
}
