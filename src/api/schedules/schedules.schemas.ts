/** Request and response schemas of /api/schedules (the OpenAPI document is generated from these). */
import { z } from "@hono/zod-openapi";
import type { Schedule } from "../../db/types.js";
import { type Trigger, upcoming } from "../../domain/triggers.js";
import { BackoffSchema, idCursor, pageLimit, text } from "../schemas.js";

const instant = z.iso.datetime({ offset: true });

export const CronTriggerSchema = z
  .object({
    kind: z.literal("cron"),
    expression: text(200).openapi({ description: "5 fields (minute hour day month weekday) or 6 (seconds first); croner syntax", example: "0 9 * * *" }),
    timezone: text(100).default("UTC").openapi({ description: "IANA time zone the expression is read in", example: "Europe/Berlin" }),
  })
  .strict()
  .openapi("CronTrigger");

export const IntervalTriggerSchema = z
  .object({
    kind: z.literal("interval"),
    seconds: z.number().int().min(1).max(315_360_000).openapi({ description: "Seconds between firings", example: 900 }),
    startAt: instant.optional().openapi({ description: "Anchor of the grid (first due time); default: now + seconds" }),
  })
  .strict()
  .openapi("IntervalTrigger");

export const OnceTriggerSchema = z
  .object({
    kind: z.literal("once"),
    at: instant.openapi({ description: "The one due time; must be in the future", example: "2026-12-01T00:00:00Z" }),
  })
  .strict()
  .openapi("OnceTrigger");

export const TriggerSchema = z
  .discriminatedUnion("kind", [CronTriggerSchema, IntervalTriggerSchema, OnceTriggerSchema])
  .openapi("ScheduleTrigger");

const fields = {
  name: text(200).min(1).openapi({ example: "daily-report" }),
  type: text(64).openapi({ description: "Task type of the created tasks (GET /api/task-types)", example: "http" }),
  title: text(500).nullable().optional().openapi({ description: "Title of created tasks (default: the schedule name)" }),
  payload: z.record(z.string(), z.unknown()).optional().openapi({ description: "Payload of created tasks, validated against the type's schema" }),
  trigger: TriggerSchema,
  priority: z.number().int().min(-32767).max(32767).optional(),
  queue: text(200).min(1).nullable().optional(),
  maxAttempts: z.number().int().min(1).max(1000).optional().openapi({ description: "Attempts each created task gets (default 1)" }),
  backoff: BackoffSchema.optional(),
  timeoutMs: z.number().int().min(1).max(86_400_000).nullable().optional(),
  deactivateAfterFailures: z
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .nullable()
    .optional()
    .openapi({ description: "Firings in a row that end failed before the schedule becomes inactive (null: never)" }),
  catchUp: z.enum(["none", "latest", "all"]).optional().openapi({ description: "After downtime: none | latest (default) | all (at most 100)" }),
  overlap: z.enum(["skip", "allow"]).optional().openapi({ description: "A firing while the previous task is unfinished: skip (default) | allow" }),
};

export const CreateScheduleBody = z
  .object({ ...fields, status: z.enum(["active", "paused"]).optional() })
  .strict()
  .openapi("CreateSchedule");
export type CreateScheduleInput = z.infer<typeof CreateScheduleBody>;

export const PatchScheduleBody = z
  .object({
    name: fields.name.optional(),
    type: fields.type.optional(),
    title: fields.title,
    payload: fields.payload,
    trigger: TriggerSchema.optional(),
    priority: fields.priority,
    queue: fields.queue,
    maxAttempts: fields.maxAttempts,
    backoff: fields.backoff,
    timeoutMs: fields.timeoutMs,
    deactivateAfterFailures: fields.deactivateAfterFailures,
    catchUp: fields.catchUp,
    overlap: fields.overlap,
    status: z.enum(["active", "paused", "inactive"]).optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, "give at least one field to change")
  .openapi("PatchSchedule");
export type PatchScheduleInput = z.infer<typeof PatchScheduleBody>;

export const PreviewBody = z
  .object({ trigger: TriggerSchema, count: z.number().int().min(1).max(100).default(5) })
  .strict()
  .openapi("TriggerPreview");

export const ScheduleSchema = z
  .object({
    id: z.number().int(),
    name: z.string(),
    type: z.string(),
    title: z.string().nullable(),
    payload: z.unknown(),
    trigger: TriggerSchema,
    status: z.enum(["active", "paused", "inactive"]),
    priority: z.number().int(),
    queue: z.string().nullable(),
    maxAttempts: z.number().int(),
    backoff: z.object({ baseMs: z.number(), maxMs: z.number() }),
    timeoutMs: z.number().int().nullable(),
    overlap: z.enum(["skip", "allow"]),
    catchUp: z.enum(["none", "latest", "all"]),
    consecutiveFailures: z.number().int(),
    deactivateAfterFailures: z.number().int().nullable(),
    deactivatedReason: z.string().nullable(),
    nextRunAt: z.string().nullable().openapi({ description: "Next due time while active; null when paused or inactive" }),
    nextRuns: z.array(z.string()).openapi({ description: "The next 5 fire times while active (nextRunAt first)" }),
    lastRunAt: z.string().nullable().openapi({ description: "Due time of the latest firing" }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Schedule");

export const ScheduleListQuery = z.object({
  status: z.enum(["active", "paused", "inactive"]).optional(),
  type: text(64).optional(),
  limit: pageLimit(),
  // A schedule page's cursor is the last id it showed.
  cursor: idCursor().optional(),
});

export const ScheduleList = z
  .object({ items: z.array(ScheduleSchema), nextCursor: z.string().nullable(), total: z.number().int() })
  .openapi("ScheduleList");

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

/** The API shape of a schedule: nextRunAt and the next 5 fire times only while active. */
export function scheduleJson(s: Schedule) {
  const trigger = s.trigger as Trigger;
  const active = s.status === "active" && s.nextRunAt !== null;
  let nextRuns: string[] = [];
  if (active) {
    try {
      nextRuns = upcoming(trigger, new Date(s.nextRunAt!), 5).map((d) => d.toISOString());
    } catch {
      nextRuns = [iso(s.nextRunAt)!];
    }
  }
  return {
    id: s.id,
    name: s.name,
    type: s.type,
    title: s.title,
    payload: s.payload,
    trigger,
    status: s.status,
    priority: s.priority,
    queue: s.queue,
    maxAttempts: s.maxAttempts,
    backoff: s.backoff,
    timeoutMs: s.timeoutMs,
    overlap: s.overlap,
    catchUp: s.catchUp,
    consecutiveFailures: s.consecutiveFailures,
    deactivateAfterFailures: s.deactivateAfterFailures,
    deactivatedReason: s.deactivatedReason,
    nextRunAt: active ? iso(s.nextRunAt) : null,
    nextRuns,
    lastRunAt: iso(s.lastRunAt),
    createdAt: iso(s.createdAt)!,
    updatedAt: iso(s.updatedAt)!,
  };
}
