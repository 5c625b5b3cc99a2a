/**
 * The internal task type `notify`: one notification delivery. Deliveries are queued by the
 * database in the transaction of the change they report (migrations/0005_events.sql), or by
 * POST /api/settings/notifications/test. Being a baton task, a delivery gets baton's retries
 * (5xx, 408, 429 and network errors retry with backoff, honouring Retry-After; other 4xx fail at
 * once), its log rows and its place in the dashboard. The request goes through the service's
 * guarded outbound client, like the `http` type's (OUTBOUND_ALLOW / OUTBOUND_DENY).
 *
 * The setting is read again when the delivery runs (WebhookNotifier): if notifications were
 * switched off, the URL removed or the event deselected since it was queued, the delivery
 * completes without sending.
 */
import { z } from "zod";
import { registerTaskType } from "../worker/registry.js";
import type { Delivery } from "./format.js";
import { WebhookNotifier } from "./notifier.js";

const facts = z.record(z.string(), z.unknown());
const params = z.union([
  z.object({ event: z.enum(["taskFailed", "taskCompleted"]), task: facts }),
  z.object({ event: z.literal("scheduleDeactivated"), schedule: facts }),
  z.object({ event: z.literal("test"), instanceId: z.string().max(100).optional() }),
]);

export const notifyType = registerTaskType({
  name: "notify",
  description:
    "Internal: delivers one notification to the webhook of the notifications setting (queued by the database when a task fails permanently, a schedule is deactivated, or a task completes). Skipped when notifications are off.",
  params,
  // Reads the notifications setting, so it needs the database: a system type, bound to its
  // service's deps (the notifier gets that service's outbound client).
  setup: (deps) => {
    const notifier = new WebhookNotifier(deps);
    return (p, ctx) => notifier.deliver(p as Delivery, ctx.signal);
  },
});
