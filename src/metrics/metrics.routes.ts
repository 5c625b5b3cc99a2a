/** GET /metrics: Prometheus text exposition (documented in /openapi.json like every route). */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../api/deps.js";
import { problemResponses } from "../api/schemas.js";
import type { BatonMetrics } from "./metrics.js";

export function metricsRoutes(metrics: BatonMetrics) {
  return (app: OpenAPIHono<AppEnv>) => {
    app.openapi(
      createRoute({
        method: "get",
        path: "/metrics",
        operationId: "getMetrics",
        tags: ["system"],
        summary: "Prometheus metrics: attempts and durations by type and outcome, queue latency, tasks by status, instances",
        responses: {
          200: {
            description: "Prometheus text format 0.0.4. Still answers while the database is away (baton_database_up 0).",
            content: { "text/plain": { schema: z.string() } },
          },
          ...problemResponses(401),
        },
      }),
      async (c) => c.text(await metrics.render(), 200, { "content-type": metrics.contentType }),
    );
  };
}
