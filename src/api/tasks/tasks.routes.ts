/** /api/tasks: create, batch, list, get, edit, delete, cancel, retry, bulk status. */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { listConversations } from "../../db/queries/conversations.js";
import { latestLogs } from "../../db/queries/logs.js";
import {
  bulkStatus,
  cancelTask,
  deleteTask,
  listTasks,
  requireTask,
  retryTask,
  type SortField,
  updateTask,
} from "../../db/queries/tasks.js";
import { AppError } from "../../domain/errors.js";
import type { TaskStatus } from "../../db/types.js";
import { containsNul, jsonDepth } from "../../domain/json.js";
import { validatePayload } from "../../worker/registry.js";
import type { AppDeps, AppEnv } from "../deps.js";
import { body, json } from "../http.js";
import {
  ConversationSchema,
  IdParam,
  problemResponses,
  TaskLogSchema,
  TaskSchema,
  conversationJson,
  logJson,
  taskJson,
} from "../schemas.js";
import { MAX_PAYLOAD_DEPTH } from "./create.js";
import { decodeTaskCursor, encodeTaskCursor } from "./cursor.js";
import {
  BatchBody,
  BatchResult,
  CreateTaskBody,
  ListQuery,
  PatchBody,
  StatusBody,
  StatusResult,
  TaskListResult,
} from "./tasks.schemas.js";


const TaskDetail = TaskSchema.extend({
  conversations: z.array(ConversationSchema),
  logs: z.array(TaskLogSchema),
}).openapi("TaskDetail");

export function taskRoutes(deps: AppDeps) {
  const app = new OpenAPIHono<AppEnv>();
  const { db } = deps.database;
  const me = deps.config.INSTANCE_ID;

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/tasks",
      tags: ["tasks"],
      summary: "Create a task",
      request: { body: body(CreateTaskBody) },
      responses: { 201: json(TaskSchema, "The created task"), ...problemResponses(400, 401, 409, 413, 422) },
    }),
    async (c) => {
      const task = await deps.creator.createOne(c.req.valid("json"));
      return c.json(taskJson(task), 201);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/tasks/batch",
      tags: ["tasks"],
      summary: "Create up to 10,000 tasks in one statement",
      request: { body: body(BatchBody) },
      responses: { 200: json(BatchResult, "Counts and new ids"), ...problemResponses(400, 401, 413, 422) },
    }),
    async (c) => {
      const b = c.req.valid("json");
      return c.json(await deps.creator.createMany(b.tasks, b.dedupe), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/tasks",
      tags: ["tasks"],
      summary: "List tasks (filters, search, keyset cursor, total)",
      request: { query: ListQuery },
      responses: { 200: json(TaskListResult, "A page of tasks"), ...problemResponses(400, 401) },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const cursor = q.cursor ? decodeTaskCursor(q.cursor, q.sort, q.order) : undefined;
      const r = await listTasks(db, {
        status: q.status as TaskStatus[] | undefined,
        type: q.type,
        queue: q.queue,
        scheduleId: q.scheduleId,
        search: q.search,
        sort: q.sort as SortField,
        order: q.order,
        limit: q.limit,
        cursor,
      });
      return c.json(
        {
          items: r.items.map(taskJson),
          nextCursor: r.next ? encodeTaskCursor(r.next, q.sort, q.order) : null,
          total: r.total,
          totalEstimated: r.totalEstimated,
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/tasks/status",
      tags: ["tasks"],
      summary: "Bulk status report from an external system",
      request: { body: body(StatusBody) },
      responses: { 200: json(StatusResult, "What changed"), ...problemResponses(400, 401) },
    }),
    async (c) => c.json(await bulkStatus(db, c.req.valid("json"), me), 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/tasks/{id}",
      tags: ["tasks"],
      summary: "A task with its conversations and latest logs",
      request: { params: IdParam },
      responses: { 200: json(TaskDetail, "The task"), ...problemResponses(400, 401, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      // One snapshot for the three reads, so the task's status and its log rows agree.
      const [task, conversations, logs] = await db
        .transaction()
        .setIsolationLevel("repeatable read")
        .setAccessMode("read only")
        .execute(async (trx) => [await requireTask(trx, id), await listConversations(trx, id), await latestLogs(trx, id, 50)] as const);
      return c.json({ ...taskJson(task), conversations: conversations.map(conversationJson), logs: logs.map(logJson) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/api/tasks/{id}",
      tags: ["tasks"],
      summary: "Edit a task that has not started",
      request: { params: IdParam, body: body(PatchBody) },
      responses: { 200: json(TaskSchema, "The task"), ...problemResponses(400, 401, 404, 409) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const patch = c.req.valid("json");
      if (patch.payload !== undefined) {
        if (containsNul(patch.payload) || jsonDepth(patch.payload) > MAX_PAYLOAD_DEPTH) {
          throw new AppError("VALIDATION", "payload: contains U+0000 or is nested too deeply", { errors: [{ field: "payload", message: "invalid payload" }] });
        }
        const cur = await requireTask(db, id);
        const v = validatePayload(cur.type, patch.payload);
        if (!v.ok) throw new AppError("VALIDATION", v.errors.map((e) => `${e.field}: ${e.message}`).join("; "), { errors: v.errors });
      }
      return c.json(taskJson(await updateTask(db, id, patch)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/api/tasks/{id}",
      tags: ["tasks"],
      summary: "Delete a task with its conversations and logs (409 while processing)",
      request: { params: IdParam },
      responses: { 204: { description: "Deleted" }, ...problemResponses(400, 401, 404, 409) },
    }),
    async (c) => {
      await deleteTask(db, c.req.valid("param").id);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/tasks/{id}/cancel",
      tags: ["tasks"],
      summary: "Cancel a backlog, pending, retrying or processing task",
      request: { params: IdParam },
      responses: { 200: json(TaskSchema, "The canceled task"), ...problemResponses(400, 401, 404, 409) },
    }),
    async (c) => c.json(taskJson(await cancelTask(db, c.req.valid("param").id, me)), 200),
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/tasks/{id}/retry",
      tags: ["tasks"],
      summary: "Move a failed or canceled task back to pending",
      request: { params: IdParam },
      responses: { 200: json(TaskSchema, "The task, pending again"), ...problemResponses(400, 401, 404, 409) },
    }),
    async (c) => c.json(taskJson(await retryTask(db, c.req.valid("param").id, me)), 200),
  );

  return app;
}
