/**
 * /api/schedules, the definitions: create, list, preview, get, edit, delete, pause, resume and
 * trigger (run now) as zod schemas, from which requests are validated and /openapi.json is
 * generated. Handlers: schedules.handlers.ts; wiring: index.ts.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { body, json } from "../http.js";
import { IdParam, problemResponses, TaskSchema } from "../schemas.js";
import { CreateScheduleBody, PatchScheduleBody, PreviewBody, ScheduleList, ScheduleListQuery, ScheduleSchema } from "./schedules.schemas.js";

const tags = ["schedules"];

export const create = createRoute({
  method: "post",
  path: "/api/schedules",
  operationId: "createSchedule",
  tags,
  summary: "Create a schedule (cron in a time zone, interval, or one-time)",
  request: { body: body(CreateScheduleBody) },
  responses: { 201: json(ScheduleSchema, "The schedule with nextRunAt and the next 5 fire times"), ...problemResponses(400, 401, 409, 413) },
});

export const list = createRoute({
  method: "get",
  path: "/api/schedules",
  operationId: "listSchedules",
  tags,
  summary: "List schedules (filter by status or type; cursor pagination by id)",
  request: { query: ScheduleListQuery },
  responses: { 200: json(ScheduleList, "A page of schedules"), ...problemResponses(400, 401) },
});

export const preview = createRoute({
  method: "post",
  path: "/api/schedules/preview",
  operationId: "previewTrigger",
  tags,
  summary: "Validate a trigger and show its next fire times (nothing is stored)",
  request: { body: body(PreviewBody) },
  responses: {
    200: json(z.object({ trigger: z.unknown(), nextRuns: z.array(z.string()) }), "The next fire times"),
    ...problemResponses(400, 401),
  },
});

export const get = createRoute({
  method: "get",
  path: "/api/schedules/{id}",
  operationId: "getSchedule",
  tags,
  summary: "A schedule with nextRunAt and its next 5 fire times",
  request: { params: IdParam },
  responses: { 200: json(ScheduleSchema, "The schedule"), ...problemResponses(400, 401, 404) },
});

export const patch = createRoute({
  method: "patch",
  path: "/api/schedules/{id}",
  operationId: "updateSchedule",
  tags,
  summary: "Edit a schedule; a new trigger moves nextRunAt to its first fire time after now",
  request: { params: IdParam, body: body(PatchScheduleBody) },
  responses: { 200: json(ScheduleSchema, "The schedule"), ...problemResponses(400, 401, 404, 409) },
});

export const remove = createRoute({
  method: "delete",
  path: "/api/schedules/{id}",
  operationId: "deleteSchedule",
  tags,
  summary: "Delete a schedule (its tasks stay, with scheduleId null)",
  request: { params: IdParam },
  responses: { 204: { description: "Deleted" }, ...problemResponses(400, 401, 404) },
});

export const pause = createRoute({
  method: "post",
  path: "/api/schedules/{id}/pause",
  operationId: "pauseSchedule",
  tags,
  summary: "Pause an active schedule (no firings until resumed)",
  request: { params: IdParam },
  responses: { 200: json(ScheduleSchema, "The schedule"), ...problemResponses(400, 401, 404, 409) },
});

export const resume = createRoute({
  method: "post",
  path: "/api/schedules/{id}/resume",
  operationId: "resumeSchedule",
  tags,
  summary: "Resume a paused or inactive schedule: next firing at the next due time (catchUp all: missed ones too)",
  request: { params: IdParam },
  responses: { 200: json(ScheduleSchema, "The schedule"), ...problemResponses(400, 401, 404, 409) },
});

export const trigger = createRoute({
  method: "post",
  path: "/api/schedules/{id}/trigger",
  operationId: "triggerSchedule",
  tags,
  summary: "Run now: create one task for an active or paused schedule immediately (next due time unchanged); 409 when inactive",
  request: { params: IdParam },
  responses: { 201: json(TaskSchema, "The created task"), ...problemResponses(400, 401, 404, 409) },
});
