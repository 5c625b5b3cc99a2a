/**
 * simulate: waits a given or random duration, optionally fails with a probability, then marks the
 * task's conversations processed. For demos and load tests (the multi-instance processor of
 * seed 002 took 6–7 s per task).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { RetryableError } from "../errors.js";
import { registerTaskType } from "../registry.js";

const params = z
  .object({
    durationMs: z.number().int().min(0).max(3_600_000).optional().describe("Exact duration; wins over min/max"),
    minMs: z.number().int().min(0).max(3_600_000).default(6000),
    maxMs: z.number().int().min(0).max(3_600_000).default(7000),
    failProbability: z.number().min(0).max(1).default(0),
    conversationStatus: z.string().min(1).max(100).default("processed"),
  })
  .refine((p) => p.maxMs >= p.minMs, { message: "maxMs must be >= minMs", path: ["maxMs"] });

export const simulate = registerTaskType({
  name: "simulate",
  description:
    "Waits durationMs (or a random time between minMs and maxMs) in ten steps, reporting each as progress, fails with failProbability, then marks the task's conversations processed.",
  params,
  handler: async (p, ctx) => {
    const ms = p.durationMs ?? Math.round(p.minMs + Math.random() * (p.maxMs - p.minMs));
    // ten steps, each reported through ctx.progress (stored at most once a second), so a
    // simulated task shows a moving progress bar
    const steps = ms >= 100 ? 10 : 1;
    for (let i = 1; i <= steps; i++) {
      await sleep(Math.round((ms * i) / steps) - Math.round((ms * (i - 1)) / steps), undefined, { signal: ctx.signal });
      if (steps > 1) void ctx.progress(i * 10, i === steps ? "done waiting" : `waited ${Math.round((ms * i) / steps)} of ${ms} ms`);
    }
    if (p.failProbability > 0 && Math.random() < p.failProbability) {
      throw new RetryableError(`simulated failure (probability ${p.failProbability})`);
    }
    const processed = await ctx.conversations.markAll(p.conversationStatus);
    return { durationMs: ms, conversationsProcessed: processed };
  },
});
