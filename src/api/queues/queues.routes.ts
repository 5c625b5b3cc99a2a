/**
 * /api/queues, the definitions: list with live counts, get, put (create or replace the limits),
 * pause and resume. Handlers: queues.handlers.ts; wiring: index.ts.
 */
import { createRoute } from "@hono/zod-openapi";
import { body, json } from "../http.js";
import { problemResponses } from "../schemas.js";
import { PutQueueBody, QueueList, QueueNameParam, QueueSchema } from "./queues.schemas.js";

const tags = ["queues"];

export const list = createRoute({
  method: "get",
  path: "/api/queues",
  operationId: "listQueues",
  tags,
  summary: "Queues with their limits and live counts (waiting, pending, running, started in the last minute)",
  responses: { 200: json(QueueList, "Every queue with a row, and every queue that has active tasks"), ...problemResponses(401) },
});

export const get = createRoute({
  method: "get",
  path: "/api/queues/{name}",
  operationId: "getQueue",
  tags,
  summary: "A queue with its limits and live counts (a queue without a row shows the defaults)",
  request: { params: QueueNameParam },
  responses: { 200: json(QueueSchema, "The queue"), ...problemResponses(400, 401) },
});

export const put = createRoute({
  method: "put",
  path: "/api/queues/{name}",
  operationId: "putQueue",
  tags,
  summary: "Create or replace a queue's concurrency, rate limit and paused flag; omitted fields take their defaults",
  request: { params: QueueNameParam, body: body(PutQueueBody) },
  responses: { 200: json(QueueSchema, "The queue"), ...problemResponses(400, 401, 413, 415) },
});

export const pause = createRoute({
  method: "post",
  path: "/api/queues/{name}/pause",
  operationId: "pauseQueue",
  tags,
  summary: "Stop new starts of the queue's tasks on every instance; running tasks finish",
  request: { params: QueueNameParam },
  responses: { 200: json(QueueSchema, "The queue"), ...problemResponses(400, 401) },
});

export const resume = createRoute({
  method: "post",
  path: "/api/queues/{name}/resume",
  operationId: "resumeQueue",
  tags,
  summary: "Let the queue's tasks start again, within its limits",
  request: { params: QueueNameParam },
  responses: { 200: json(QueueSchema, "The queue"), ...problemResponses(400, 401) },
});
