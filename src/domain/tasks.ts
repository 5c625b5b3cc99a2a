/**
 * Pure task rules: the lifecycle of DESIGN.md as a table, and the content dedupe key.
 *
 * The lifecycle's one definition is the SQL function baton.task_transition
 * (migrations/0007_lifecycle.sql), which the SQL functions and the runtime queries call.
 * TRANSITIONS below is the same table as typed data for code that decides without a query (the
 * dashboard's buttons, the API's messages); test/state-machine.test.ts checks that the two agree
 * on every (status, action) pair, and walks every pair through the API, the worker's queries and
 * the SQL functions.
 */
import { createHash } from "node:crypto";
import type { TaskStatus } from "../db/types.js";

export const TASK_STATUSES: readonly TaskStatus[] = [
  "waiting",
  "backlog",
  "pending",
  "processing",
  "retrying",
  "completed",
  "failed",
  "canceled",
];

/**
 * Every status of the lifecycle. `waiting` (baton holds the task until its queue has room, its
 * rate window opens or the queue is resumed: migrations/0011_queues.sql) is one of TASK_STATUSES
 * now; the alias stays for the code that names the lifecycle.
 */
export type LifecycleStatus = TaskStatus;
export const LIFECYCLE_STATUSES: readonly LifecycleStatus[] = TASK_STATUSES;

/** What can happen to a task; the names are the `action` argument of baton.task_transition. */
export const TASK_ACTIONS = [
  "release", // backlog → pending (the release task type, a bulk report of pending)
  "open", // a waiting task's gate opens
  "claim", // the worker starts an attempt
  "succeed",
  "fail_retry", // the attempt failed with attempts left (also: recovered after a crash)
  "fail_final", // the attempt failed with none left, or permanently
  "return", // shutdown gave the attempt back unfinished
  "cancel",
  "retry", // an explicit retry (API, dashboard, baton.retry_task)
  "report_completed", // POST /api/tasks/status
  "report_failed",
  "report_pending",
  "edit", // PATCH /api/tasks/{id}: the status stays
  "delete", // DELETE /api/tasks/{id}: the row goes
] as const;
export type TaskAction = (typeof TASK_ACTIONS)[number];

/** Where an action leads: a status, or "deleted" for delete (the row is gone). */
export type TransitionTarget = LifecycleStatus | "deleted";

const UNSTARTED = ["waiting", "backlog", "pending", "retrying"] as const;
const to = <T extends TransitionTarget>(target: T, from: readonly LifecycleStatus[]) =>
  Object.fromEntries(from.map((s) => [s, target])) as Partial<Record<LifecycleStatus, T>>;

/** The lifecycle: TRANSITIONS[action][from] is the status the action leads to; absent = refused. */
export const TRANSITIONS: { readonly [A in TaskAction]: Readonly<Partial<Record<LifecycleStatus, TransitionTarget>>> } = {
  release: { backlog: "pending" },
  open: { waiting: "pending" },
  claim: to("processing", ["pending", "retrying"]),
  succeed: { processing: "completed" },
  fail_retry: { processing: "retrying" },
  fail_final: { processing: "failed" },
  return: { processing: "pending" },
  cancel: to("canceled", [...UNSTARTED, "processing"]),
  retry: to("pending", ["failed", "canceled"]),
  report_completed: to("completed", [...UNSTARTED, "processing"]),
  report_failed: to("failed", [...UNSTARTED, "processing"]),
  report_pending: to("pending", ["backlog", "completed", "failed", "canceled"]),
  edit: Object.fromEntries(UNSTARTED.map((s) => [s, s])),
  delete: to(
    "deleted",
    LIFECYCLE_STATUSES.filter((s) => s !== "processing"),
  ),
};

/** The status `action` leads to from `from`, or null when it is refused (the API's 409). */
export function transition(from: LifecycleStatus, action: TaskAction): TransitionTarget | null {
  return TRANSITIONS[action][from] ?? null;
}

/** The statuses from which `action` is allowed, in LIFECYCLE_STATUSES order. */
export function sourcesOf(action: TaskAction): LifecycleStatus[] {
  return LIFECYCLE_STATUSES.filter((s) => TRANSITIONS[action][s] !== undefined);
}

/** Statuses the dashboard offers Cancel and Retry for. */
export const CANCELABLE: ReadonlySet<LifecycleStatus> = new Set(sourcesOf("cancel"));
export const RETRYABLE: ReadonlySet<LifecycleStatus> = new Set(sourcesOf("retry"));

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
