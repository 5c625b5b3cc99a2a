/** Execution history. System rows are read-only; notes from outside have source = api. */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { addNote, deleteNote, getLog, listLogs, updateNote } from "../../db/queries/logs.js";
import { requireTask } from "../../db/queries/tasks.js";
import type { LogEvent } from "../../db/types.js";
import type { AppDeps, AppEnv } from "../deps.js";
import { body, json } from "../http.js";
import { IdParam, idCursor, logJson, pageLimit, positiveId, problemResponses, TaskLogSchema, text } from "../schemas.js";

const EVENTS = ["started", "succeeded", "failed", "retry_scheduled", "canceled", "recovered", "returned", "note"] as const;

const LogQuery = z.object({
  taskId: positiveId().optional(),
  event: z.enum(EVENTS).optional(),
  instanceId: text(100).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  limit: pageLimit(),
  cursor: idCursor().optional(),
});

const LogPage = z.object({ items: z.array(TaskLogSchema), nextCursor: z.string().nullable(), total: z.number().int() });

/**
 * A note from outside, in the shape GET returns: `event` may be sent (a row read back and posted
 * again) and must then be "note"; every other event is written only by baton itself.
 */
const NoteBody = z
  .object({
    taskId: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    event: z.literal("note", { error: 'only "note" rows can be posted; the other events are written by baton' }).optional(),
    message: text(10_000).min(1),
    attempt: z.number().int().min(0).max(1000).optional(),
  })
  .strict()
  .openapi("NoteInput");

export function logRoutes(deps: AppDeps) {
  const app = new OpenAPIHono<AppEnv>();
  const { db } = deps.database;

  const list = async (q: z.infer<typeof LogQuery>, taskId?: number) => {
    const r = await listLogs(db, {
      taskId: taskId ?? q.taskId,
      event: q.event as LogEvent | undefined,
      instanceId: q.instanceId,
      since: q.since ? new Date(q.since) : undefined,
      until: q.until ? new Date(q.until) : undefined,
      limit: q.limit,
      cursor: q.cursor,
    });
    return { items: r.items.map(logJson), nextCursor: r.next ? String(r.next) : null, total: r.total };
  };

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/task-logs",
      operationId: "listTaskLogs",
      tags: ["task logs"],
      summary: "Execution history, newest first (filter by task, event, instance, time)",
      request: { query: LogQuery },
      responses: { 200: json(LogPage, "A page of log rows"), ...problemResponses(400, 401) },
    }),
    async (c) => c.json(await list(c.req.valid("query")), 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/tasks/{id}/logs",
      operationId: "listLogsOfTask",
      tags: ["task logs"],
      summary: "One task's log rows, newest first",
      request: { params: IdParam, query: LogQuery.omit({ taskId: true }) },
      responses: { 200: json(LogPage, "A page of log rows"), ...problemResponses(400, 401, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      await requireTask(db, id);
      return c.json(await list(c.req.valid("query") as z.infer<typeof LogQuery>, id), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/task-logs/{id}",
      operationId: "getTaskLog",
      tags: ["task logs"],
      summary: "One log row",
      request: { params: IdParam },
      responses: { 200: json(TaskLogSchema, "The row"), ...problemResponses(400, 401, 404) },
    }),
    async (c) => c.json(logJson(await getLog(db, c.req.valid("param").id)), 200),
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/task-logs",
      operationId: "addTaskNote",
      tags: ["task logs"],
      summary: "Add a note from outside (source = api)",
      request: { body: body(NoteBody) },
      responses: { 201: json(TaskLogSchema, "The note"), ...problemResponses(400, 401, 404) },
    }),
    async (c) => {
      const { event: _note, ...b } = c.req.valid("json");
      await requireTask(db, b.taskId);
      return c.json(logJson(await addNote(db, { ...b, source: "api" })), 201);
    },
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/api/task-logs/{id}",
      operationId: "updateTaskNote",
      tags: ["task logs"],
      summary: "Edit a note (api rows only; system rows are read-only: 409)",
      request: { params: IdParam, body: body(z.object({ message: text(10_000).min(1) }).strict()) },
      responses: { 200: json(TaskLogSchema, "The note"), ...problemResponses(400, 401, 404, 409) },
    }),
    async (c) => c.json(logJson(await updateNote(db, c.req.valid("param").id, c.req.valid("json").message)), 200),
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/api/task-logs/{id}",
      operationId: "deleteTaskNote",
      tags: ["task logs"],
      summary: "Delete a note (api rows only)",
      request: { params: IdParam },
      responses: { 204: { description: "Deleted" }, ...problemResponses(400, 401, 404, 409) },
    }),
    async (c) => {
      await deleteNote(db, c.req.valid("param").id);
      return c.body(null, 204);
    },
  );
  return app;
}
