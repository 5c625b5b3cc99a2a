/**
 * /api/tasks, the definitions: paths, parameters, bodies and responses as zod schemas, from which
 * requests are validated and /openapi.json is generated. Handlers: tasks.handlers.ts; wiring:
 * index.ts.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { body, json } from "../http.js";
import { ConversationSchema, IdParam, problemResponses, TaskLogSchema, TaskSchema } from "../schemas.js";
import { BatchBody, BatchResult, CreateTaskBody, ListQuery, PatchBody, StatusBody, StatusResult, TaskListResult } from "./tasks.schemas.js";

const tags = ["tasks"];

const TaskDetail = TaskSchema.extend({
  conversations: z.array(ConversationSchema),
  logs: z.array(TaskLogSchema),
  dependsOn: z.array(z.number().int()).openapi({ description: "Ids of the tasks this one waits for" }),
  dependents: z.array(z.number().int()).openapi({ description: "Ids of the tasks that wait for this one" }),
}).openapi("TaskDetail");

const WorkflowGraph = z
  .object({
    nodes: z.array(TaskSchema),
    edges: z.array(z.object({ from: z.number().int(), to: z.number().int() }).openapi({ description: "from: the parent, to: the task waiting for it" })),
    truncated: z.boolean().openapi({ description: "true when the workflow has more tasks than one answer carries (20,000)" }),
  })
  .openapi("WorkflowGraph");

export const create = createRoute({
  method: "post",
  path: "/api/tasks",
  operationId: "createTask",
  tags,
  summary: "Create a task",
  request: { body: body(CreateTaskBody) },
  responses: { 201: json(TaskSchema, "The created task"), ...problemResponses(400, 401, 409, 413, 422) },
});

export const batch = createRoute({
  method: "post",
  path: "/api/tasks/batch",
  operationId: "createTasks",
  tags,
  summary: "Create up to 10,000 tasks in one statement",
  request: { body: body(BatchBody) },
  responses: { 200: json(BatchResult, "Counts and new ids"), ...problemResponses(400, 401, 413, 422) },
});

export const list = createRoute({
  method: "get",
  path: "/api/tasks",
  operationId: "listTasks",
  tags,
  summary: "List tasks (filters, search, keyset cursor, total)",
  request: { query: ListQuery },
  responses: { 200: json(TaskListResult, "A page of tasks"), ...problemResponses(400, 401) },
});

export const bulkStatus = createRoute({
  method: "post",
  path: "/api/tasks/status",
  operationId: "reportTaskStatus",
  tags,
  summary: "Bulk status report from an external system",
  request: { body: body(StatusBody) },
  responses: { 200: json(StatusResult, "What changed"), ...problemResponses(400, 401) },
});

export const get = createRoute({
  method: "get",
  path: "/api/tasks/{id}",
  operationId: "getTask",
  tags,
  summary: "A task with its conversations and latest logs",
  request: { params: IdParam },
  responses: { 200: json(TaskDetail, "The task"), ...problemResponses(400, 401, 404) },
});

export const patch = createRoute({
  method: "patch",
  path: "/api/tasks/{id}",
  operationId: "updateTask",
  tags,
  summary: "Edit a task that has not started",
  request: { params: IdParam, body: body(PatchBody) },
  responses: { 200: json(TaskSchema, "The task"), ...problemResponses(400, 401, 404, 409) },
});

export const remove = createRoute({
  method: "delete",
  path: "/api/tasks/{id}",
  operationId: "deleteTask",
  tags,
  summary: "Delete a task with its conversations and logs (409 while processing)",
  request: { params: IdParam },
  responses: { 204: { description: "Deleted" }, ...problemResponses(400, 401, 404, 409) },
});

export const cancel = createRoute({
  method: "post",
  path: "/api/tasks/{id}/cancel",
  operationId: "cancelTask",
  tags,
  summary: "Cancel a backlog, pending, retrying or processing task",
  request: { params: IdParam },
  responses: { 200: json(TaskSchema, "The canceled task"), ...problemResponses(400, 401, 404, 409) },
});

export const retry = createRoute({
  method: "post",
  path: "/api/tasks/{id}/retry",
  operationId: "retryTask",
  tags,
  summary: "Move a failed or canceled task back to pending",
  request: { params: IdParam },
  responses: { 200: json(TaskSchema, "The task, pending again"), ...problemResponses(400, 401, 404, 409) },
});

export const graph = createRoute({
  method: "get",
  path: "/api/tasks/{id}/graph",
  operationId: "getTaskGraph",
  tags,
  summary: "The workflow a task belongs to: every task connected to it by dependencies, and the edges",
  request: { params: IdParam },
  responses: { 200: json(WorkflowGraph, "Nodes and edges"), ...problemResponses(400, 401, 404) },
});
