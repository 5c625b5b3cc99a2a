/**
 * /api/tasks, the handlers: each reads its validated input, calls the queries (no SQL here) and
 * shapes the response its route definition in tasks.routes.ts declares.
 */
import { listConversations } from "../../db/queries/conversations.js";
import { latestLogs } from "../../db/queries/logs.js";
import { edgesOf, workflowGraph } from "../../db/queries/workflows.js";
import { bulkStatus as reportStatus, cancelTask, deleteTask, listTasks, requireTask, retryTask, updateTask } from "../../db/queries/tasks.js";
import type { TaskStatus } from "../../db/types.js";
import { AppError } from "../../domain/errors.js";
import { containsNul, jsonDepth } from "../../domain/json.js";
import { validatePayload } from "../../worker/registry.js";
import type { AppDeps, Handler } from "../deps.js";
import { conversationJson, logJson, taskJson } from "../schemas.js";
import { MAX_PAYLOAD_DEPTH } from "./create.js";
import { decodeTaskCursor, encodeTaskCursor } from "./cursor.js";
import type * as routes from "./tasks.routes.js";

export function taskHandlers(deps: AppDeps) {
  const { db } = deps.database;
  const me = deps.config.INSTANCE_ID;

  // traceparent: the caller's W3C trace context, stored on the task (src/tracing)
  const create: Handler<typeof routes.create> = async (c) =>
    c.json(taskJson(await deps.creator.createOne(c.req.valid("json"), "key", c.req.header("traceparent"))), 201);

  const batch: Handler<typeof routes.batch> = async (c) => {
    const b = c.req.valid("json");
    return c.json(await deps.creator.createMany(b.tasks, b.dedupe, c.req.header("traceparent")), 200);
  };

  const list: Handler<typeof routes.list> = async (c) => {
    const q = c.req.valid("query");
    const cursor = q.cursor ? decodeTaskCursor(q.cursor, q.sort, q.order) : undefined;
    const r = await listTasks(db, {
      status: q.status as TaskStatus[] | undefined,
      type: q.type,
      queue: q.queue,
      scheduleId: q.scheduleId,
      search: q.search,
      sort: q.sort,
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
  };

  const bulkStatus: Handler<typeof routes.bulkStatus> = async (c) => c.json(await reportStatus(db, c.req.valid("json"), me), 200);

  const get: Handler<typeof routes.get> = async (c) => {
    const { id } = c.req.valid("param");
    // One snapshot for the three reads, so the task's status and its log rows agree.
    const [task, conversations, logs, edges] = await db
      .transaction()
      .setIsolationLevel("repeatable read")
      .setAccessMode("read only")
      .execute(
        async (trx) => [await requireTask(trx, id), await listConversations(trx, id), await latestLogs(trx, id, 50), await edgesOf(trx, id)] as const,
      );
    return c.json({ ...taskJson(task), conversations: conversations.map(conversationJson), logs: logs.map(logJson), ...edges }, 200);
  };

  const graph: Handler<typeof routes.graph> = async (c) => {
    const { id } = c.req.valid("param");
    const g = await db
      .transaction()
      .setIsolationLevel("repeatable read")
      .setAccessMode("read only")
      .execute(async (trx) => {
        await requireTask(trx, id);
        return workflowGraph(trx, id);
      });
    return c.json({ nodes: g.nodes.map(taskJson), edges: g.edges, truncated: g.truncated }, 200);
  };

  const patch: Handler<typeof routes.patch> = async (c) => {
    const { id } = c.req.valid("param");
    const change = c.req.valid("json");
    if (change.payload !== undefined) {
      if (containsNul(change.payload) || jsonDepth(change.payload) > MAX_PAYLOAD_DEPTH) {
        throw new AppError("VALIDATION", "payload: contains U+0000 or is nested too deeply", { errors: [{ field: "payload", message: "invalid payload" }] });
      }
      const cur = await requireTask(db, id);
      const v = validatePayload(cur.type, change.payload);
      if (!v.ok) throw new AppError("VALIDATION", v.errors.map((e) => `${e.field}: ${e.message}`).join("; "), { errors: v.errors });
    }
    return c.json(taskJson(await updateTask(db, id, change)), 200);
  };

  const remove: Handler<typeof routes.remove> = async (c) => {
    await deleteTask(db, c.req.valid("param").id);
    return c.body(null, 204);
  };

  const cancel: Handler<typeof routes.cancel> = async (c) => c.json(taskJson(await cancelTask(db, c.req.valid("param").id, me)), 200);
  const retry: Handler<typeof routes.retry> = async (c) => c.json(taskJson(await retryTask(db, c.req.valid("param").id, me)), 200);

  return { create, batch, list, bulkStatus, get, patch, remove, cancel, retry, graph };
}
