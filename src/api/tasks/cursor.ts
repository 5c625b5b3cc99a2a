/**
 * The task-list cursor, for GET /api/tasks and the dashboard's /tasks page alike: base64url JSON
 * of the last row's (sort value, id) plus the sort and order it belongs to. A cursor is text the
 * client holds, so decoding checks every value's type before it reaches SQL: a forged
 * {"v":"x","s":"id"} would otherwise fail inside Postgres as a 500.
 */
import type { SortField } from "../../db/queries/tasks.js";
import { AppError } from "../../domain/errors.js";

export type SortOrder = "asc" | "desc";

/** Where the next page starts: strictly after this (sort value, id) pair. */
export interface TaskCursor {
  v: unknown;
  id: number;
}

/** An ISO timestamp as listTasks returns it for the time columns (microseconds at most). */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;
/** priority is a smallint. */
const MAX_PRIORITY = 32767;

function validValue(sort: SortField, v: unknown): boolean {
  if (sort === "id") return Number.isSafeInteger(v) && (v as number) >= 1;
  if (sort === "priority") return Number.isInteger(v) && Math.abs(v as number) <= MAX_PRIORITY;
  return typeof v === "string" && TIMESTAMP.test(v) && !Number.isNaN(Date.parse(v));
}

/** The cursor text for the page after `next`, in the given sort and order. */
export function encodeTaskCursor(next: TaskCursor, sort: SortField, order: SortOrder): string {
  return Buffer.from(JSON.stringify({ v: next.v, id: next.id, s: sort, o: order })).toString("base64url");
}

/**
 * The cursor a client sent back, checked against the sort and order of this request; anything
 * else (not base64url JSON, wrong types, another sort) is a VALIDATION error naming `cursor`.
 */
export function decodeTaskCursor(text: string, sort: SortField, order: SortOrder): TaskCursor {
  let d: { v?: unknown; id?: unknown; s?: unknown; o?: unknown } | null = null;
  try {
    d = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {}
  if (!d || typeof d !== "object" || !Number.isSafeInteger(d.id) || (d.id as number) < 1 || !validValue(sort, d.v) || d.s !== sort || d.o !== order) {
    throw new AppError("VALIDATION", "cursor: invalid or from a different sort", { errors: [{ field: "cursor", message: "invalid cursor" }] });
  }
  return { v: d.v, id: d.id as number };
}
