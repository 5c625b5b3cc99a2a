/**
 * The notifications setting (baton.settings key 'notifications'): on/off, the webhook, its message
 * format, which events to send, and the retry policy of each delivery. Validated by zod on the
 * way in (PUT /api/settings/notifications) and read leniently on the way out, so a value a DBA
 * wrote by hand never breaks a delivery: what does not parse counts as "off".
 */
import { z } from "@hono/zod-openapi";
import type { Db } from "../db/client.js";
import { getSetting, putSetting } from "../db/queries/settings.js";

export const SETTINGS_KEY = "notifications";

export const FORMATS = ["slack", "discord", "feishu", "generic"] as const;
export type Format = (typeof FORMATS)[number];

export const EVENTS = ["taskFailed", "scheduleDeactivated", "taskCompleted"] as const;
export type NotificationEvent = (typeof EVENTS)[number];

const webhookUrl = z
  .string()
  .max(2048)
  .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), "must be an http(s) URL")
  .refine((u) => !u.includes("\u0000"), "must not contain U+0000 (NUL)");

export const NotificationSettingsSchema = z
  .object({
    enabled: z.boolean().default(false).openapi({ description: "Master switch; off stops queued deliveries too" }),
    webhookUrl: webhookUrl.nullable().default(null).openapi({ example: "https://hooks.slack.com/services/T000/B000/XXXX" }),
    format: z.enum(FORMATS).default("generic").openapi({
      description: 'slack {"text"}, discord {"content"}, feishu {"msg_type":"text","content":{"text"}}, generic {event, text, task|schedule, sentAt}',
    }),
    events: z
      .object({
        taskFailed: z.boolean().default(true).openapi({ description: "A task failed permanently (no attempts left, or a permanent error)" }),
        scheduleDeactivated: z.boolean().default(true).openapi({ description: "A schedule became inactive" }),
        taskCompleted: z.boolean().default(false).openapi({ description: "A task completed (can be many messages)" }),
      })
      .strict()
      .default({ taskFailed: true, scheduleDeactivated: true, taskCompleted: false }),
    maxAttempts: z.number().int().min(1).max(50).default(6).openapi({ description: "Attempts per delivery (5xx, 408, 429 and network errors retry)" }),
    backoffBaseMs: z.number().int().min(100).max(3_600_000).default(5000).openapi({ description: "First retry delay; doubles per attempt, capped at 10 minutes" }),
  })
  .strict()
  .refine((s) => !s.enabled || s.webhookUrl !== null, { message: "required when enabled is true", path: ["webhookUrl"] })
  .openapi("NotificationSettings");

export type NotificationSettings = z.output<typeof NotificationSettingsSchema>;

export const DEFAULT_SETTINGS: NotificationSettings = NotificationSettingsSchema.parse({});

/** The current setting; defaults (off) when unset or unreadable. */
export async function loadNotificationSettings(db: Db): Promise<NotificationSettings & { updatedAt: string | null }> {
  const row = await getSetting(db, SETTINGS_KEY);
  if (!row) return { ...DEFAULT_SETTINGS, updatedAt: null };
  const parsed = NotificationSettingsSchema.safeParse(row.value);
  const updatedAt = new Date(row.updatedAt).toISOString();
  if (!parsed.success) return { ...DEFAULT_SETTINGS, updatedAt };
  return { ...parsed.data, updatedAt };
}

export async function saveNotificationSettings(db: Db, s: NotificationSettings): Promise<NotificationSettings & { updatedAt: string }> {
  const at = await putSetting(db, SETTINGS_KEY, s);
  return { ...s, updatedAt: new Date(at).toISOString() };
}
