/**
 * /api/queues, the handlers: each reads its validated input, calls the queries (no SQL here) and
 * shapes the response its route definition in queues.routes.ts declares.
 */
import { getQueue, listQueues, putQueue, setQueuePaused } from "../../db/queries/queues.js";
import type { AppDeps, Handler } from "../deps.js";
import type * as routes from "./queues.routes.js";
import { queueJson } from "./queues.schemas.js";

export function queueHandlers(deps: Pick<AppDeps, "database">) {
  const { db } = deps.database;

  const list: Handler<typeof routes.list> = async (c) => c.json({ items: (await listQueues(db)).map(queueJson) }, 200);

  const get: Handler<typeof routes.get> = async (c) => c.json(queueJson(await getQueue(db, c.req.valid("param").name)), 200);

  const put: Handler<typeof routes.put> = async (c) => {
    const { name } = c.req.valid("param");
    const b = c.req.valid("json");
    await putQueue(db, name, { concurrency: b.concurrency ?? 1, rateLimit: b.rateLimit ?? null, paused: b.paused ?? false });
    return c.json(queueJson(await getQueue(db, name)), 200);
  };

  const setPaused = async (name: string, value: boolean) => {
    await setQueuePaused(db, name, value);
    return queueJson(await getQueue(db, name));
  };
  const pause: Handler<typeof routes.pause> = async (c) => c.json(await setPaused(c.req.valid("param").name, true), 200);
  const resume: Handler<typeof routes.resume> = async (c) => c.json(await setPaused(c.req.valid("param").name, false), 200);

  return { list, get, put, pause, resume };
}
