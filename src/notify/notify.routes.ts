/** GET/PUT /api/settings/notifications and POST /api/settings/notifications/test. */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../api/deps.js";
import { body, json } from "../api/http.js";
import { problemResponses } from "../api/schemas.js";
import type { TaskCreator } from "../api/tasks/create.js";
import type { Database } from "../db/client.js";
import { AppError } from "../domain/errors.js";
import { loadNotificationSettings, NotificationSettingsSchema, saveNotificationSettings } from "./settings.js";

const SettingsResponse = z
  .object({
    enabled: z.boolean(),
    webhookUrl: z.string().nullable(),
    format: z.string(),
    events: z.object({ taskFailed: z.boolean(), scheduleDeactivated: z.boolean(), taskCompleted: z.boolean() }),
    maxAttempts: z.number().int(),
    backoffBaseMs: z.number().int(),
    updatedAt: z.string().nullable().openapi({ description: "Last change; null while never set (defaults shown)" }),
  })
  .openapi("NotificationSettingsState");

export function notifyRoutes(deps: { database: Database; creator: TaskCreator; instanceId: string }) {
  const { db } = deps.database;
  return (app: OpenAPIHono<AppEnv>) => {
    app.openapi(
      createRoute({
        method: "get",
        path: "/api/settings/notifications",
        operationId: "getNotificationSettings",
        tags: ["settings"],
        summary: "The notifications setting (defaults, switched off, until set)",
        responses: { 200: json(SettingsResponse, "The setting"), ...problemResponses(401) },
      }),
      async (c) => c.json(await loadNotificationSettings(db), 200),
    );

    app.openapi(
      createRoute({
        method: "put",
        path: "/api/settings/notifications",
        operationId: "putNotificationSettings",
        tags: ["settings"],
        summary: "Replace the notifications setting (fields left out take their defaults)",
        description:
          "Takes effect at once on every instance: failures committed after this call use the new setting, and queued deliveries check it again when they run (switching off stops them).",
        request: { body: body(NotificationSettingsSchema) },
        responses: { 200: json(SettingsResponse, "The stored setting"), ...problemResponses(400, 401) },
      }),
      async (c) => c.json(await saveNotificationSettings(db, c.req.valid("json")), 200),
    );

    app.openapi(
      createRoute({
        method: "post",
        path: "/api/settings/notifications/test",
        operationId: "testNotifications",
        tags: ["settings"],
        summary: "Queue a test message to the configured webhook",
        responses: {
          202: json(z.object({ taskId: z.number().int() }), "The delivery task (type notify)"),
          ...problemResponses(401, 409),
        },
      }),
      async (c) => {
        const s = await loadNotificationSettings(db);
        if (!s.enabled || !s.webhookUrl) throw new AppError("INVALID_STATE", "notifications are off; switch them on with a webhook URL first");
        const task = await deps.creator.createOne({
          type: "notify",
          title: "notify: test message",
          payload: { event: "test", instanceId: deps.instanceId },
          priority: 100,
          maxAttempts: s.maxAttempts,
          backoff: { baseMs: s.backoffBaseMs, maxMs: Math.max(s.backoffBaseMs, 600_000) },
        });
        return c.json({ taskId: task.id }, 202);
      },
    );
  };
}
