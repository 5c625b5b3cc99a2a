/** Request and response schemas for the queue routes (DESIGN.md "Flow control"). */
import { z } from "@hono/zod-openapi";
import type { QueueRow } from "../../db/queries/queues.js";
import { text } from "../schemas.js";

/** Queue names: what a task's `queue` may be (1–200 characters), and nothing that breaks a URL path. */
export const QueueNameParam = z.object({
  name: text(200).pipe(z.string().min(1)).openapi({ param: { name: "name", in: "path" }, example: "partner-api" }),
});

export const RateLimitSchema = z
  .object({
    limit: z.number().int().min(1).max(1_000_000).openapi({ description: "Starts allowed per window", example: 10 }),
    perSeconds: z.number().int().min(1).max(86_400).openapi({ description: "Window length in seconds", example: 1 }),
  })
  .strict()
  .openapi("RateLimit");

export const PutQueueBody = z
  .object({
    concurrency: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .optional()
      .openapi({ description: "At most this many tasks of the queue run at once, across all instances (default 1)", example: 3 }),
    rateLimit: RateLimitSchema.nullable().optional().openapi({ description: "At most limit starts in any window of perSeconds; null: none" }),
    paused: z.boolean().optional().openapi({ description: "true: no new task of the queue starts", example: false }),
  })
  .strict()
  .openapi("PutQueueBody", { example: { concurrency: 3, rateLimit: { limit: 10, perSeconds: 1 }, paused: false } });

export const QueueSchema = z
  .object({
    name: z.string().openapi({ example: "partner-api" }),
    concurrency: z.number().int().openapi({ example: 3 }),
    rateLimit: RateLimitSchema.nullable(),
    paused: z.boolean(),
    configured: z.boolean().openapi({ description: "false: the queue has tasks but no row, so it runs with the defaults (concurrency 1)" }),
    waiting: z.number().int().openapi({ description: "Held by baton: the queue is full, rate limited or paused", example: 12 }),
    pending: z.number().int().openapi({ description: "Admitted, not started yet", example: 0 }),
    running: z.number().int().openapi({ example: 3 }),
    startedLastMinute: z.number().int().openapi({ example: 58 }),
    createdAt: z.string().nullable().openapi({ example: "2026-11-24T09:00:00.000Z" }),
    updatedAt: z.string().nullable().openapi({ example: "2026-11-24T09:00:00.000Z" }),
  })
  .openapi("Queue", {
    example: {
      name: "partner-api",
      concurrency: 3,
      rateLimit: { limit: 10, perSeconds: 1 },
      paused: false,
      configured: true,
      waiting: 12,
      pending: 0,
      running: 3,
      startedLastMinute: 58,
      createdAt: "2026-11-24T09:00:00.000Z",
      updatedAt: "2026-11-24T09:00:00.000Z",
    },
  });

export const QueueList = z.object({ items: z.array(QueueSchema) }).openapi("QueueList");

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

/** A queue row as the API shows it. */
export function queueJson(q: QueueRow): z.infer<typeof QueueSchema> {
  return {
    name: q.name,
    concurrency: q.concurrency,
    rateLimit: q.rateLimit ? { limit: Number(q.rateLimit.limit), perSeconds: Number(q.rateLimit.perSeconds) } : null,
    paused: q.paused,
    configured: q.configured,
    waiting: q.waiting,
    pending: q.pending,
    running: q.running,
    startedLastMinute: q.startedLastMinute,
    createdAt: iso(q.createdAt),
    updatedAt: iso(q.updatedAt),
  };
}
