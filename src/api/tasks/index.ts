/** /api/tasks: each route definition (tasks.routes.ts) with its handler (tasks.handlers.ts). */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppDeps, AppEnv } from "../deps.js";
import { taskHandlers } from "./tasks.handlers.js";
import * as routes from "./tasks.routes.js";

export function taskRoutes(deps: AppDeps) {
  const h = taskHandlers(deps);
  return new OpenAPIHono<AppEnv>()
    .openapi(routes.create, h.create)
    .openapi(routes.batch, h.batch)
    .openapi(routes.list, h.list)
    .openapi(routes.bulkStatus, h.status)
    .openapi(routes.get, h.get)
    .openapi(routes.patch, h.patch)
    .openapi(routes.remove, h.remove)
    .openapi(routes.cancel, h.cancel)
    .openapi(routes.retry, h.retry);
}
