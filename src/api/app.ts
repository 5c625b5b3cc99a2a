/**
 * createApp(deps): the Hono application. Every route is declared with zod schemas through
 * @hono/zod-openapi, so validation and /openapi.json come from one source. Errors of every kind
 * leave as application/problem+json (src/api/problem.ts).
 */
import { randomUUID } from "node:crypto";
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Hono } from "hono";
import { bodyReader } from "./body.js";
import { conversationRoutes } from "./conversations/conversations.routes.js";
import type { AppDeps, AppEnv } from "./deps.js";
import { logRoutes } from "./logs/logs.routes.js";
import { problem, renderError } from "./problem.js";
import { queueRoutes } from "./queues/index.js";
import { withHeaders } from "./response-headers.js";
import { scheduleRoutes } from "./schedules/index.js";
import { mountDocs } from "./system/docs.js";
import { type StatusSection, systemRoutes } from "./system/system.routes.js";
import { taskRoutes } from "./tasks/index.js";

export interface AppExtensions {
  /** Mounted before the API routes (auth, rate limits). */
  middleware?: ((app: OpenAPIHono<AppEnv>) => void)[];
  /** More route groups (settings, dashboard, metrics). */
  routes?: ((app: OpenAPIHono<AppEnv>) => void)[];
  statusSections?: StatusSection[];
}

export function createApp(deps: AppDeps, ext: AppExtensions = {}): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const errors = result.error.issues.map((i) => ({
          field: [result.target === "json" ? "" : `${result.target}.`, i.path.join(".")].join("").replace(/^\.|\.$/g, "") || "(body)",
          message: i.message,
        }));
        return problem(c, 400, errors.map((e) => `${e.field}: ${e.message}`).join("; ").slice(0, 2000), { errors: errors.slice(0, 100) });
      }
    },
  });

  app.use("*", async (c, next) => {
    const given = c.req.header("x-request-id");
    const id = given && /^[\w.-]{1,100}$/.test(given) ? given : randomUUID();
    c.set("requestId", id);
    await withHeaders(c, { "x-request-id": id }, next);
  });

  app.onError((err, c) => {
    const { res, unexpected } = renderError(c, err);
    if (unexpected) deps.log.error({ err, requestId: c.get("requestId"), path: c.req.path }, "unhandled error");
    else if (res.status >= 500) deps.log.warn({ err: (err as Error).message, path: c.req.path }, "request failed");
    return res;
  });
  app.notFound((c) => problem(c, 404, `no route for ${c.req.method} ${c.req.path}`));

  app.use(
    "/api/*",
    bodyReader(deps.config.MAX_BODY_BYTES, (c) =>
      // The rest of the body is never read, so the connection cannot be reused.
      problem(c, 413, `request body larger than ${deps.config.MAX_BODY_BYTES} bytes (MAX_BODY_BYTES)`, {}, { connection: "close" }),
    ),
  );
  // JSON writes must say so; anything else is a 415 rather than a confusing validation error.
  app.use("/api/*", async (c, next) => {
    if (["POST", "PUT", "PATCH"].includes(c.req.method)) {
      const len = c.req.header("content-length");
      const ct = c.req.header("content-type") ?? "";
      const hasBody = len !== "0" && (len !== undefined || c.req.header("transfer-encoding") !== undefined);
      if (hasBody && !/^application\/(.+\+)?json\b/i.test(ct)) {
        return problem(c, 415, "content-type must be application/json");
      }
    }
    await next();
  });

  for (const m of ext.middleware ?? []) m(app);

  app.route("/", systemRoutes(deps, ext.statusSections));
  app.route("/", taskRoutes(deps));
  app.route("/", conversationRoutes(deps));
  app.route("/", logRoutes(deps));
  app.route("/", queueRoutes(deps));
  app.route("/", scheduleRoutes({ database: deps.database, instanceId: deps.config.INSTANCE_ID }));
  for (const r of ext.routes ?? []) r(app);

  mountDocs(app, deps.version);
  return app;
}

export type App = Hono<AppEnv>;
