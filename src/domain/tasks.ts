/** Pure task rules: the state machine of DESIGN.md and the content dedupe key. */
import { createHash } from "node:crypto";
import type { TaskStatus } from "../db/types.js";

export const TASK_STATUSES: readonly TaskStatus[] = [
  "backlog",
  "pending",
  "processing",
  "retrying",
  "completed",
  "failed",
  "canceled",
];
export const TERMINAL: ReadonlySet<TaskStatus> = new Set(["completed", "failed", "canceled"]);
export const CANCELABLE: ReadonlySet<TaskStatus> = new Set(["backlog", "pending", "retrying", "processing"]);
export const RETRYABLE: ReadonlySet<TaskStatus> = new Set(["failed", "canceled"]);
/** Fields of a task that may be edited before it starts. */
export const EDITABLE: ReadonlySet<TaskStatus> = new Set(["backlog", "pending", "retrying"]);

/** JSON with object keys sorted, so equal payloads give equal text whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const keys = Object.keys(value as object).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

/** dedupe_key for `dedupe: "content"`: identical type + payload means duplicate. */
export function contentDedupeKey(type: string, payload: unknown): string {
  return `sha256:${createHash("sha256").update(type).update("\0").update(canonicalJson(payload)).digest("hex")}`;
}
