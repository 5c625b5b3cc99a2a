/** /api/schedules: each route definition (schedules.routes.ts) with its handler (schedules.handlers.ts). */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../deps.js";
import { type ScheduleRouteDeps, scheduleHandlers } from "./schedules.handlers.js";
import * as routes from "./schedules.routes.js";

export function scheduleRoutes(deps: ScheduleRouteDeps) {
  const h = scheduleHandlers(deps);
  return new OpenAPIHono<AppEnv>()
    .openapi(routes.create, h.create)
    .openapi(routes.list, h.list)
    .openapi(routes.preview, h.preview)
    .openapi(routes.get, h.get)
    .openapi(routes.patch, h.patch)
    .openapi(routes.remove, h.remove)
    .openapi(routes.pause, h.pause)
    .openapi(routes.resume, h.resume)
    .openapi(routes.trigger, h.trigger);
}
