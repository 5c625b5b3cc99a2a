/**
 * /api/schedules, the handlers: each validates what zod cannot (task type and payload, trigger
 * against the database clock), calls the queries (no SQL here) and shapes the response its route
 * definition in schedules.routes.ts declares.
 */
import type { Database } from "../../db/client.js";
import { changeSchedule, dbNow, deleteSchedule, insertSchedule, listSchedules, requireSchedule, type ScheduleValues } from "../../db/queries/schedules.js";
import type { Schedule } from "../../db/types.js";
import { DEFAULT_BACKOFF } from "../../domain/backoff.js";
import { AppError, type FieldError } from "../../domain/errors.js";
import { firstRunAfter, normalizeTrigger, type Trigger, upcoming, validateTrigger } from "../../domain/triggers.js";
import { resumeNextRunAt, throwIfInvalid, validateTaskSpec } from "../../scheduler/lifecycle.js";
import { runNow } from "../../scheduler/scheduler.js";
import type { Handler } from "../deps.js";
import { taskJson } from "../schemas.js";
import type * as routes from "./schedules.routes.js";
import { type PatchScheduleInput, scheduleJson } from "./schedules.schemas.js";

export interface ScheduleRouteDeps {
  database: Database;
  instanceId: string;
}

export function scheduleHandlers(deps: ScheduleRouteDeps) {
  const { db } = deps.database;

  const create: Handler<typeof routes.create> = async (c) => {
    const b = c.req.valid("json");
    const now = await dbNow(db);
    const payload = b.payload ?? {};
    throwIfInvalid([...validateTaskSpec(b.type, payload), ...validateTrigger(b.trigger, now)]);
    const trigger = normalizeTrigger(b.trigger);
    const values: ScheduleValues = {
      name: b.name,
      type: b.type,
      title: b.title ?? null,
      payload,
      trigger,
      status: b.status ?? "active",
      priority: b.priority ?? 0,
      queue: b.queue ?? null,
      maxAttempts: b.maxAttempts ?? 1,
      backoff: b.backoff ?? DEFAULT_BACKOFF,
      timeoutMs: b.timeoutMs ?? null,
      overlap: b.overlap ?? "skip",
      catchUp: b.catchUp ?? "latest",
      deactivateAfterFailures: b.deactivateAfterFailures ?? null,
      deactivatedReason: null,
      consecutiveFailures: 0,
      nextRunAt: firstRunAfter(trigger, now),
    };
    return c.json(scheduleJson(await insertSchedule(db, values)), 201);
  };

  const list: Handler<typeof routes.list> = async (c) => {
    const q = c.req.valid("query");
    const r = await listSchedules(db, { status: q.status, type: q.type, limit: q.limit, cursor: q.cursor });
    return c.json({ items: r.items.map(scheduleJson), nextCursor: r.next === null ? null : String(r.next), total: r.total }, 200);
  };

  const preview: Handler<typeof routes.preview> = async (c) => {
    const b = c.req.valid("json");
    const now = await dbNow(db);
    throwIfInvalid(validateTrigger(b.trigger, now));
    const trigger = normalizeTrigger(b.trigger);
    const nextRuns = upcoming(trigger, firstRunAfter(trigger, now), b.count).map((d) => d.toISOString());
    return c.json({ trigger, nextRuns }, 200);
  };

  const get: Handler<typeof routes.get> = async (c) => c.json(scheduleJson(await requireSchedule(db, c.req.valid("param").id)), 200);

  const patch: Handler<typeof routes.patch> = async (c) => {
    const patch = c.req.valid("json");
    const s = await changeSchedule(db, c.req.valid("param").id, (cur, now) => applyPatch(cur, patch, now));
    return c.json(scheduleJson(s), 200);
  };

  const remove: Handler<typeof routes.remove> = async (c) => {
    await deleteSchedule(db, c.req.valid("param").id);
    return c.body(null, 204);
  };

  const pause: Handler<typeof routes.pause> = async (c) => {
    const s = await changeSchedule(db, c.req.valid("param").id, (cur): Partial<ScheduleValues> => {
      if (cur.status === "paused") return {};
      if (cur.status === "inactive") {
        throw new AppError("INVALID_STATE", `schedule ${cur.id} is inactive (${cur.deactivatedReason ?? "no reason recorded"}); resume it instead`);
      }
      return { status: "paused" };
    });
    return c.json(scheduleJson(s), 200);
  };

  const resume: Handler<typeof routes.resume> = async (c) => {
    const s = await changeSchedule(db, c.req.valid("param").id, (cur, now) => (cur.status === "active" ? {} : activate(cur, now)));
    return c.json(scheduleJson(s), 200);
  };

  const trigger: Handler<typeof routes.trigger> = async (c) => {
    return c.json(taskJson(await runNow(deps.database, c.req.valid("param").id, deps.instanceId)), 201);
  };

  return { create, list, preview, get, patch, remove, pause, resume, trigger };
}

/** Columns to set when a paused or inactive schedule becomes active. */
function activate(cur: Pick<Schedule, "trigger" | "catchUp" | "nextRunAt">, now: Date): Partial<ScheduleValues> {
  return { status: "active", nextRunAt: resumeNextRunAt(cur, now), consecutiveFailures: 0, deactivatedReason: null };
}

/** PATCH rules: validate what changed, then move next_run_at and status as the change requires. */
function applyPatch(cur: Schedule, p: PatchScheduleInput, now: Date): Partial<ScheduleValues> {
  const errors: FieldError[] = [];
  const set: Partial<ScheduleValues> = {};
  const copy = ["name", "title", "priority", "queue", "maxAttempts", "backoff", "timeoutMs", "deactivateAfterFailures", "catchUp", "overlap"] as const;
  for (const k of copy) if (p[k] !== undefined) (set as Record<string, unknown>)[k] = p[k];
  if (p.type !== undefined || p.payload !== undefined) {
    const type = p.type ?? cur.type;
    const payload = p.payload ?? cur.payload;
    errors.push(...validateTaskSpec(type, payload));
    set.type = type;
    set.payload = payload;
  }
  let trigger: Trigger | undefined;
  if (p.trigger !== undefined) {
    errors.push(...validateTrigger(p.trigger, now));
    if (errors.length === 0) trigger = normalizeTrigger(p.trigger);
  }
  throwIfInvalid(errors);
  if (trigger) set.trigger = trigger;

  const status = p.status ?? cur.status;
  const merged = { ...cur, ...set } as Schedule;
  if (status === "inactive") {
    if (cur.status !== "inactive") Object.assign(set, { status, nextRunAt: null, deactivatedReason: "set inactive through the API" });
  } else if (status === "active" && cur.status !== "active") {
    Object.assign(set, activate(trigger ? { ...merged, nextRunAt: null } : merged, now));
  } else {
    if (status !== cur.status) set.status = status;
    if (trigger) set.nextRunAt = firstRunAfter(trigger, now);
  }
  return set;
}
