/**
 * Schedule rules shared by the API and the scheduler: validating what a schedule would create,
 * where next_run_at goes on create / change / pause / resume, and the task a firing creates.
 * No I/O here.
 */
import type { NewTask } from "../db/queries/tasks.js";
import type { Schedule } from "../db/types.js";
import { AppError, type FieldError } from "../domain/errors.js";
import { containsNul, jsonDepth } from "../domain/json.js";
import { firstRunAfter, isValidTimeZone, type Trigger, validateTrigger } from "../domain/triggers.js";
import { validatePayload } from "../worker/registry.js";

const MAX_PAYLOAD_DEPTH = 32;

/** Field errors of the task a schedule would create: its type must exist and the payload fit it. */
export function validateTaskSpec(type: string, payload: unknown): FieldError[] {
  if (containsNul(payload)) return [{ field: "payload", message: "must not contain U+0000 (NUL)" }];
  if (jsonDepth(payload) > MAX_PAYLOAD_DEPTH) return [{ field: "payload", message: `nested deeper than ${MAX_PAYLOAD_DEPTH} levels` }];
  const v = validatePayload(type, payload ?? {});
  return v.ok ? [] : v.errors;
}

export function throwIfInvalid(errors: FieldError[]): void {
  if (errors.length === 0) return;
  throw new AppError("VALIDATION", errors.map((e) => `${e.field}: ${e.message}`).join("; ").slice(0, 2000), { errors: errors.slice(0, 100) });
}

/** Validates a trigger as the API receives it (a 400 naming each bad field). */
export function checkTrigger(t: Trigger, now: Date): void {
  throwIfInvalid(validateTrigger(t, now));
}

/**
 * A stored trigger (jsonb a DBA may have edited) as a Trigger, or an Error saying what is wrong.
 * The scheduler deactivates a schedule whose trigger cannot be read, rather than stalling on it.
 */
export function storedTrigger(v: unknown): Trigger {
  const t = v as Partial<Record<string, unknown>> | null;
  if (!t || typeof t !== "object") throw new Error("trigger is not an object");
  if (t.kind === "cron" && typeof t.expression === "string") {
    const timezone = typeof t.timezone === "string" ? t.timezone : "UTC";
    if (!isValidTimeZone(timezone)) throw new Error(`unknown time zone '${timezone}'`);
    return { kind: "cron", expression: t.expression, timezone };
  }
  if (t.kind === "interval" && typeof t.seconds === "number" && Number.isFinite(t.seconds) && t.seconds >= 1) {
    return typeof t.startAt === "string" ? { kind: "interval", seconds: t.seconds, startAt: t.startAt } : { kind: "interval", seconds: t.seconds };
  }
  if (t.kind === "once" && typeof t.at === "string" && !Number.isNaN(Date.parse(t.at))) return { kind: "once", at: t.at };
  throw new Error(`unreadable trigger ${JSON.stringify(v).slice(0, 200)}`);
}

/**
 * next_run_at when a paused or inactive schedule becomes active again. The time it was paused is
 * intentional, not downtime: the next firing is the next due time after now, with no burst, unless
 * catchUp is "all", which keeps the stored due time so that every time missed in the meantime
 * fires (at most 100). A one-time trigger whose instant has passed cannot be resumed: 409.
 */
export function resumeNextRunAt(s: Pick<Schedule, "trigger" | "catchUp" | "nextRunAt">, now: Date): Date {
  const trigger = storedTrigger(s.trigger);
  const stored = s.nextRunAt ? new Date(s.nextRunAt) : null;
  if (s.catchUp === "all" && stored) return stored;
  const next = firstRunAfter(trigger, now, stored);
  if (!next) {
    throw new AppError("INVALID_STATE", `the one-time trigger (${trigger.kind === "once" ? trigger.at : "?"}) has passed; PATCH a new trigger.at to run it again`);
  }
  return next;
}

/** The task one firing creates: the schedule's type, payload and retry settings. */
export function taskForFiring(s: Schedule, due: Date, manual = false): NewTask {
  return {
    type: s.type,
    title: s.title ?? s.name,
    description: manual ? `run now (schedule ${s.name})` : `schedule ${s.name}: due ${due.toISOString()}`,
    payload: s.payload ?? {},
    status: "pending",
    priority: s.priority,
    queue: s.queue,
    maxAttempts: s.maxAttempts,
    backoff: s.backoff,
    timeoutMs: s.timeoutMs,
    scheduleId: s.id,
    scheduledFor: due.toISOString(),
  };
}
