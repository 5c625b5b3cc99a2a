/** /api/schedules: each route definition (schedules.routes.ts) with its handler (schedules.handlers.ts). */
import { mount } from "../http.js";
import { type ScheduleRouteDeps, scheduleHandlers } from "./schedules.handlers.js";
import * as routes from "./schedules.routes.js";

export const scheduleRoutes = (deps: ScheduleRouteDeps) => mount(routes, scheduleHandlers(deps));
