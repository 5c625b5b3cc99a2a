/**
 * The webhook sender: reads the notifications setting when a delivery runs and posts the message
 * through the service's guarded outbound client, with the `http` type's status rules (5xx, 408,
 * 429 and network errors retry, honouring Retry-After; other 4xx fail at once).
 */
import type { Db } from "../db/client.js";
import type { OutboundClient } from "../worker/outbound.js";
import { callHttp } from "../worker/types/http.js";
import { type Delivery, messageBody } from "./format.js";
import { loadNotificationSettings } from "./settings.js";

export const DELIVERY_TIMEOUT_MS = 10_000;

export type DeliveryResult = { skipped: string } | { delivered: true; format: string; status: number; host: string };

export class WebhookNotifier {
  constructor(private readonly deps: { db: Db; outbound: OutboundClient }) {}

  /**
   * Sends one delivery, or skips it (resolving with the reason) when notifications were switched
   * off, the URL removed or the event deselected since it was queued.
   */
  async deliver(d: Delivery, signal: AbortSignal): Promise<DeliveryResult> {
    const s = await loadNotificationSettings(this.deps.db);
    if (!s.enabled) return { skipped: "notifications are off" };
    if (d.event !== "test" && !s.events[d.event]) return { skipped: `event ${d.event} is not selected` };
    if (!s.webhookUrl) return { skipped: "no webhook URL" };
    const res = await callHttp(
      this.deps.outbound,
      { url: s.webhookUrl, method: "POST", headers: { "content-type": "application/json" }, body: messageBody(s.format, d), timeoutMs: DELIVERY_TIMEOUT_MS },
      signal,
    );
    return { delivered: true, format: s.format, status: res.status, host: new URL(s.webhookUrl).host };
  }
}
