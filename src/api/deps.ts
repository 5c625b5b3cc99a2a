/** What the HTTP app needs from the composition root (src/main.ts wires it). */
import type { RouteConfig, RouteHandler } from "@hono/zod-openapi";
import type { Config } from "../config.js";
import type { Database } from "../db/client.js";
import type { Logger } from "../log.js";
import type { WorkerService } from "../worker/pool.js";
import type { TaskCreator } from "./tasks/create.js";

export interface AppDeps {
  config: Config;
  database: Database;
  log: Logger;
  version: string;
  startedAt: Date;
  creator: TaskCreator;
  /** null when WORKER_ENABLED=false (API-only instance). */
  worker: WorkerService | null;
}

export type AppEnv = { Variables: { requestId: string } };

/** A handler for one route definition of a `*.routes.ts` file, typed by its schemas. */
export type Handler<R extends RouteConfig> = RouteHandler<R, AppEnv>;
