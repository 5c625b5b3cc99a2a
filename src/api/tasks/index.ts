/** /api/tasks: each route definition (tasks.routes.ts) with its handler (tasks.handlers.ts). */
import type { AppDeps } from "../deps.js";
import { mount } from "../http.js";
import { taskHandlers } from "./tasks.handlers.js";
import * as routes from "./tasks.routes.js";

export const taskRoutes = (deps: AppDeps) => mount(routes, taskHandlers(deps));
