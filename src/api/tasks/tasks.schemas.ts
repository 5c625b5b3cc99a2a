/** Request schemas for the task routes. */
import { z } from "@hono/zod-openapi";
import { BackoffSchema, MAX_ID, pageLimit, positiveId, TaskSchema, TaskStatusSchema, text } from "../schemas.js";

/** Most parents one task may have (DESIGN.md, workflows). */
export const MAX_PARENTS = 1000;

export const ConversationInput = z
  .object({
    role: text(100).optional(),
    content: text(100_000),
    status: text(100).optional(),
  })
  .strict()
  .openapi("ConversationInput");

export const CreateTaskBody = z
  .object({
    type: text(64).openapi({ example: "simulate" }),
    title: text(500).optional().openapi({ example: "Process customer feedback" }),
    description: text(10_000).optional(),
    payload: z.record(z.string(), z.unknown()).optional().openapi({ example: { durationMs: 6500 } }),
    priority: z.number().int().min(-32767).max(32767).optional().openapi({ description: "Higher runs sooner (default 0)" }),
    queue: text(200).min(1).nullable().optional().openapi({ description: "Tasks sharing a queue run one at a time" }),
    runAt: z.iso.datetime({ offset: true }).optional().openapi({ description: "Not before this instant" }),
    maxAttempts: z.number().int().min(1).max(1000).optional(),
    backoff: BackoffSchema.optional(),
    timeoutMs: z.number().int().min(1).max(86_400_000).optional(),
    dedupeKey: text(500).min(1).optional(),
    hold: z.boolean().optional().openapi({ description: "true: created in backlog, released later" }),
    conversations: z.array(ConversationInput).max(1000).optional(),
    ref: text(200)
      .min(1)
      .optional()
      .openapi({ description: "Batch only: a name other tasks of the same batch give in dependsOn", example: "split" }),
    dependsOn: z
      .array(z.union([z.number().int().min(1).max(MAX_ID), text(200).min(1)]))
      .max(MAX_PARENTS)
      .optional()
      .openapi({
        description:
          "Parents: task ids, or (in a batch) refs of tasks of the same batch. The task waits until every parent completed (see onParentFailure)",
        example: [41],
      }),
    onParentFailure: z.enum(["cancel", "continue"]).optional().openapi({
      description: "cancel (default): a parent that ends failed or canceled cancels this task; continue: it releases it",
    }),
  })
  .strict()
  .openapi("CreateTask");
export type CreateTaskInput = z.infer<typeof CreateTaskBody>;

export const BatchBody = z
  .object({
    dedupe: z.enum(["key", "content"]).default("key").openapi({
      description: "key: duplicates share a dedupeKey; content: identical type + payload is a duplicate",
    }),
    tasks: z.array(CreateTaskBody).min(1).max(10_000),
  })
  .strict()
  .openapi("BatchCreate");

export const BatchResult = z
  .object({
    created: z.number().int(),
    duplicates: z.number().int(),
    ids: z.array(z.number().int()),
    refs: z
      .record(z.string(), z.number().int())
      .optional()
      .openapi({ description: "Each ref of the batch and the id of its task (the existing task's for a duplicate)", example: { split: 41 } }),
  })
  .openapi("BatchResult");

export const ListQuery = z.object({
  status: z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (!s) return undefined;
      const parts = s.split(",").map((p) => p.trim());
      for (const p of parts) {
        if (!TaskStatusSchema.safeParse(p).success) {
          ctx.addIssue({ code: "custom", message: `unknown status '${p.slice(0, 50)}'` });
          return z.NEVER;
        }
      }
      return parts as z.infer<typeof TaskStatusSchema>[];
    })
    .openapi({ description: "One status or a comma-separated list", example: "pending" }),
  type: text(64).optional(),
  queue: text(200).optional(),
  scheduleId: positiveId().optional(),
  search: text(200).optional().openapi({ description: "Case-insensitive substring of the title" }),
  sort: z.enum(["id", "priority", "createdAt", "updatedAt", "runAt"]).default("id"),
  order: z.enum(["asc", "desc"]).default("desc"),
  limit: pageLimit(),
  cursor: z.string().max(500).optional(),
});

export const TaskListResult = z.object({
  items: z.array(TaskSchema),
  nextCursor: z.string().nullable(),
  total: z.number().int(),
  totalEstimated: z
    .boolean()
    .openapi({ description: "true when more than 10,000 tasks match: total is then the planner's estimate, not an exact count" }),
}).openapi("TaskList");

export const PatchBody = z
  .object({
    title: text(500).optional(),
    description: text(10_000).optional(),
    priority: z.number().int().min(-32767).max(32767).optional(),
    payload: z.record(z.string(), z.unknown()).optional(),
    runAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, "give at least one field to change")
  .openapi("PatchTask");

const IdList = z.array(z.number().int().min(1).max(Number.MAX_SAFE_INTEGER)).max(10_000).default([]);
export const StatusBody = z
  .object({ completed: IdList, failed: IdList, pending: IdList })
  .strict()
  .openapi("BulkStatus");
export const StatusResult = z
  .object({ updated: z.number().int(), notFound: z.array(z.number().int()), conflicts: z.array(z.number().int()) })
  .openapi("BulkStatusResult");
