/**
 * The internal task type `notify`: one notification delivery. Deliveries are queued by the
 * database in the transaction of the change they report (migrations/0005_events.sql), or by
 * POST /api/settings/notifications/test. Being a baton task, a delivery gets baton's retries
 * (5xx, 408, 429 and network errors retry with backoff, honouring Retry-After; other 4xx fail at
 * once), its log rows and its place in the dashboard. The request goes through the same guarded
 * outbound client as the `http` type (OUTBOUND_ALLOW / OUTBOUND_DENY).
 *
 * The setting is read again when the delivery runs: if notifications were switched off, the URL
 * removed or the event deselected since it was queued, the delivery completes without sending.
 */
import { z } from "zod";
import { registerTaskType } from "../worker/registry.js";
import { httpType } from "../worker/types/http.js";
import { type Delivery, messageBody } from "./format.js";
import { loadNotificationSettings } from "./settings.js";

const facts = z.record(z.string(), z.unknown());
const params = z.union([
  z.object({ event: z.enum(["taskFailed", "taskCompleted"]), task: facts }),
  z.object({ event: z.literal("scheduleDeactivated"), schedule: facts }),
  z.object({ event: z.literal("test"), instanceId: z.string().max(100).optional() }),
]);

export const DELIVERY_TIMEOUT_MS = 10_000;

export const notifyType = registerTaskType({
  name: "notify",
  description:
    "Internal: delivers one notification to the webhook of the notifications setting (queued by the database when a task fails permanently, a schedule is deactivated, or a task completes). Skipped when notifications are off.",
  params,
  handler: async (p, ctx) => {
    const s = await loadNotificationSettings(ctx.db);
    if (!s.enabled) return { skipped: "notifications are off" };
    if (p.event !== "test" && !s.events[p.event]) return { skipped: `event ${p.event} is not selected` };
    if (!s.webhookUrl) return { skipped: "no webhook URL" };
    const body = messageBody(s.format, p as Delivery);
    const res = (await httpType.handler(
      { url: s.webhookUrl, method: "POST", headers: { "content-type": "application/json" }, secretHeaders: [], body, timeoutMs: DELIVERY_TIMEOUT_MS },
      ctx,
    )) as { status: number };
    return { delivered: true, format: s.format, status: res.status, host: new URL(s.webhookUrl).host };
  },
});
