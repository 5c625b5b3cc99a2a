/** /health, /ready, /api/status, /api/task-types. */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { sql } from "kysely";
import { liveInstances } from "../../db/queries/instances.js";
import { countByStatus, runningOn } from "../../db/queries/tasks.js";
import { describeTaskTypes } from "../../worker/registry.js";
import type { AppDeps, AppEnv } from "../deps.js";
import { json } from "../http.js";
import { problem } from "../problem.js";
import { problemResponses } from "../schemas.js";

const InstanceSchema = z.object({
  id: z.string(),
  host: z.string(),
  port: z.number().int().nullable(),
  pid: z.number().int(),
  version: z.string(),
  concurrency: z.number().int(),
  startedAt: z.string(),
  heartbeatAt: z.string(),
  running: z.number().int().openapi({ description: "Tasks it is processing" }),
});

const StatusSchema = z
  .object({
    instance: z.object({
      id: z.string(),
      version: z.string(),
      startedAt: z.string(),
      concurrency: z.number().int(),
      workerEnabled: z.boolean(),
      running: z.array(
        z.object({ id: z.number().int(), type: z.string(), title: z.string(), startedAt: z.string().nullable(), attempts: z.number().int() }),
      ),
    }),
    instances: z.array(InstanceSchema).openapi({ description: "Every live instance (heartbeat within INSTANCE_DEAD_AFTER_MS)" }),
    counts: z.record(z.string(), z.number().int()).openapi({ description: "Tasks by status" }),
  })
  .catchall(z.unknown())
  .openapi("Status", { description: "Sections of plug-ins (scheduler, dashboard) come as further fields" });

/** Extra sections other components add to GET /api/status (the scheduler adds its state). */
export type StatusSection = () => Promise<[string, unknown]>;

export function systemRoutes(deps: AppDeps, statusSections: StatusSection[] = []) {
  const app = new OpenAPIHono<AppEnv>();
  const { db } = deps.database;

  // /health and /ready stay out of the document: they are for load balancers and supervisors, not
  // API clients, and have no 4xx answer the recommended lint rules ask every operation for.
  app.get("/health", (c) => c.json({ status: "ok", instanceId: deps.config.INSTANCE_ID }));

  app.get("/ready", async (c) => {
    try {
      const check = sql<{ n: number }>`select count(*)::int as n from baton.migrations`.execute(db);
      const timeout = new Promise<never>((_, r) => setTimeout(() => r(new Error("timeout")), 2000).unref());
      const r = await Promise.race([check, timeout]);
      return c.json({ status: "ready", migrations: r.rows[0].n });
    } catch {
      return problem(c, 503, "database unreachable or not migrated");
    }
  });

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/task-types",
      operationId: "listTaskTypes",
      tags: ["system"],
      summary: "The task-type registry with JSON Schemas of the parameters",
      responses: {
        200: json(z.object({ items: z.array(z.object({ name: z.string(), description: z.string(), parameters: z.unknown() })) }), "Task types"),
        ...problemResponses(401),
      },
    }),
    (c) => c.json({ items: describeTaskTypes() }, 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/status",
      operationId: "getStatus",
      tags: ["system"],
      summary: "This instance, live instances, counts by status, scheduler state",
      responses: { 200: json(StatusSchema, "Status"), ...problemResponses(401, 503) },
    }),
    async (c) => {
      const me = deps.config.INSTANCE_ID;
      const [counts, instances, running, ...sections] = await Promise.all([
        countByStatus(db),
        liveInstances(db, deps.config.INSTANCE_DEAD_AFTER_MS),
        runningOn(db, me),
        ...statusSections.map((s) => s()),
      ]);
      return c.json(
        {
          instance: {
            id: me,
            version: deps.version,
            startedAt: deps.startedAt.toISOString(),
            concurrency: deps.config.WORKER_CONCURRENCY,
            workerEnabled: deps.worker !== null,
            running,
          },
          instances: instances.map((i) => ({
            id: i.id,
            host: i.host,
            port: i.port,
            pid: i.pid,
            version: i.version,
            concurrency: i.concurrency,
            startedAt: i.startedAt,
            heartbeatAt: i.heartbeatAt,
            running: i.running,
          })),
          counts,
          ...Object.fromEntries(sections),
        },
        200,
      );
    },
  );
  return app;
}
