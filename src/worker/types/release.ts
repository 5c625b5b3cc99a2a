/**
 * release: backlog replenishment. When fewer than `threshold` tasks are pending, moves up to
 * `batch` backlog tasks to pending (highest priority first, then oldest). Run it from a schedule
 * for periodic replenishment (seed 000: every 4 hours, threshold 3000, batch 500).
 */
import { z } from "zod";
import { releaseBacklog } from "../../db/queries/tasks.js";
import { registerTaskType } from "../registry.js";

export const release = registerTaskType({
  name: "release",
  description: "Moves up to `batch` backlog tasks to pending when fewer than `threshold` are pending.",
  params: z.object({
    threshold: z.number().int().min(1).max(10_000_000),
    batch: z.number().int().min(1).max(100_000),
  }),
  // Moves other tasks, so it needs the database: a system type, bound to its service's deps.
  setup: (deps) => async (p, ctx) => {
    const r = await releaseBacklog(deps.db, p.threshold, p.batch, ctx.instanceId);
    await ctx.log(`pending was ${r.pendingBefore}; released ${r.released} backlog task(s)`);
    return r;
  },
});
