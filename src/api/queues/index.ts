/** /api/queues: each route definition (queues.routes.ts) with its handler (queues.handlers.ts). */
import type { AppDeps } from "../deps.js";
import { mount } from "../http.js";
import { queueHandlers } from "./queues.handlers.js";
import * as routes from "./queues.routes.js";

export const queueRoutes = (deps: Pick<AppDeps, "database">) => mount(routes, queueHandlers(deps));
