/** Zod schemas shared by routes; the OpenAPI document is generated from these. */
import { z } from "@hono/zod-openapi";
import type { Conversation, Task, TaskLog } from "../db/types.js";
import { DEFAULT_BACKOFF } from "../domain/backoff.js";
import { TASK_STATUSES } from "../domain/tasks.js";

export const MAX_ID = Number.MAX_SAFE_INTEGER;

/** A text field: bounded, and without U+0000 (Postgres cannot store it). */
export const text = (max: number) =>
  z.string().max(max).refine((s) => !s.includes("\u0000"), "must not contain U+0000 (NUL)");

/** A positive id in decimal, as paths and query strings carry it: no sign, no leading zero. */
const POSITIVE_ID = /^[1-9][0-9]{0,15}$/;

/** A positive id in decimal text, parsed to a number of at most MAX_ID. */
const decimalId = (message: string) =>
  z
    .string()
    .regex(POSITIVE_ID, message)
    .transform(Number)
    .refine((n) => n <= MAX_ID, "too large");

/**
 * A positive id given as text (path or query), parsed to a number. The document calls it an
 * integer: that is what it is on the wire too, and a generated client then takes a number for it.
 */
export const positiveId = (message = "must be a positive integer") =>
  decimalId(message).openapi({ type: "integer", minimum: 1, maximum: MAX_ID });

/**
 * The `cursor` of a list paged by id: the `nextCursor` of the previous page, handed back as it
 * came. Documented as a string (what `nextCursor` is), so a client passes it on unchanged.
 */
export const idCursor = () =>
  decimalId("must be a cursor from a previous page").openapi({ type: "string", description: "nextCursor of the previous page" });

/** The `limit` of a list: 1 to 1000, 100 unless given. */
export const pageLimit = () =>
  z
    .string()
    .regex(/^[0-9]{1,4}$/, "must be an integer between 1 and 1000")
    .transform(Number)
    .refine((n) => n >= 1 && n <= 1000, "must be between 1 and 1000")
    .default(100)
    .openapi({ type: "integer", minimum: 1, maximum: 1000, default: 100 });

export const IdParam = z.object({
  id: positiveId().openapi({ param: { name: "id", in: "path" }, example: 1 }),
});

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
    requestId: z.string().optional(),
  })
  .openapi("Problem");

export const problemResponses = (...codes: number[]) =>
  Object.fromEntries(
    codes.map((c) => [c, { description: `Problem (${c})`, content: { "application/problem+json": { schema: ProblemSchema } } }]),
  );

export const TaskStatusSchema = z.enum(TASK_STATUSES as [string, ...string[]]);

export const BackoffSchema = z
  .object({
    baseMs: z.number().int().min(1).max(86_400_000).default(DEFAULT_BACKOFF.baseMs),
    maxMs: z.number().int().min(1).max(7 * 86_400_000).default(DEFAULT_BACKOFF.maxMs),
  })
  .refine((b) => b.maxMs >= b.baseMs, { message: "maxMs must be >= baseMs", path: ["maxMs"] });

export const ProgressSchema = z
  .object({
    percent: z.number().min(0).max(100),
    message: z.string().nullable(),
    at: z.string(),
  })
  .openapi("Progress", { description: "The last ctx.progress() of the running (or last) attempt; stored at most once a second" });

export const TaskSchema = z
  .object({
    id: z.number().int(),
    type: z.string(),
    title: z.string(),
    description: z.string(),
    payload: z.unknown(),
    status: TaskStatusSchema,
    priority: z.number().int(),
    queue: z.string().nullable(),
    runAt: z.string(),
    attempts: z.number().int(),
    maxAttempts: z.number().int(),
    backoff: z.object({ baseMs: z.number(), maxMs: z.number() }),
    timeoutMs: z.number().int().nullable(),
    dedupeKey: z.string().nullable(),
    lastError: z.string().nullable(),
    result: z.unknown(),
    lockedBy: z.string().nullable(),
    scheduleId: z.number().int().nullable(),
    scheduledFor: z.string().nullable(),
    progress: ProgressSchema.nullable(),
    onParentFailure: z.enum(["cancel", "continue"]),
    canceledBy: z.number().int().nullable().openapi({ description: "The parent whose failure canceled this task; retrying that parent revives it" }),
    createdAt: z.string(),
    updatedAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
  })
  .openapi("Task");

export const ConversationSchema = z
  .object({
    id: z.number().int(),
    taskId: z.number().int(),
    role: z.string(),
    content: z.string(),
    status: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Conversation");

export const TaskLogSchema = z
  .object({
    id: z.number().int(),
    taskId: z.number().int(),
    attempt: z.number().int(),
    event: z.string(),
    instanceId: z.string().nullable(),
    message: z.string().nullable(),
    startedAt: z.string().nullable(),
    durationMs: z.number().int().nullable(),
    source: z.enum(["system", "api"]),
    createdAt: z.string(),
  })
  .openapi("TaskLog");

function iso(d: Date | string): string;
function iso(d: Date | string | null): string | null;
function iso(d: Date | string | null): string | null {
  return d === null ? null : d instanceof Date ? d.toISOString() : new Date(d).toISOString();
}

export function taskJson(t: Task) {
  return {
    id: t.id,
    type: t.type,
    title: t.title,
    description: t.description,
    payload: t.payload,
    status: t.status,
    priority: t.priority,
    queue: t.queue,
    runAt: iso(t.runAt),
    attempts: t.attempts,
    maxAttempts: t.maxAttempts,
    backoff: t.backoff,
    timeoutMs: t.timeoutMs,
    dedupeKey: t.dedupeKey,
    lastError: t.lastError,
    result: t.result ?? null,
    lockedBy: t.lockedBy,
    scheduleId: t.scheduleId,
    scheduledFor: iso(t.scheduledFor),
    // stored by jsonb_build_object as Postgres's text form (…+00:00); answered like every other instant
    progress: t.progress ? { ...t.progress, at: iso(t.progress.at) } : null,
    onParentFailure: t.onParentFailure,
    canceledBy: t.canceledBy ?? null,
    createdAt: iso(t.createdAt),
    updatedAt: iso(t.updatedAt),
    startedAt: iso(t.startedAt),
    finishedAt: iso(t.finishedAt),
  };
}

export function conversationJson(c: Conversation) {
  return { ...c, createdAt: iso(c.createdAt), updatedAt: iso(c.updatedAt) };
}

export function logJson(l: TaskLog) {
  return { ...l, startedAt: iso(l.startedAt), createdAt: iso(l.createdAt) };
}

