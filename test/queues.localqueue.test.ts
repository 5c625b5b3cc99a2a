/**
 * Named queues stay serial with batched claiming (graphile-worker's local queue) on. On
 * graphile-worker 0.17.3 the local queue handed two jobs of one named queue to two workers at once
 * (graphile/worker#621, fixed in 0.18.0); baton's "one at a time per queue" rests on that fix.
 *
 * Two instances in this process, each with WORKER_CONCURRENCY=10 and a local queue of 50, share one
 * database. The handler itself counts how many tasks of its queue are running at that moment, so
 * the check does not depend on how baton writes its logs.
 */
import { sql } from "kysely";
import { z } from "zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Service } from "../src/service.js";
import { registerTaskType } from "../src/worker/registry.js";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { api, startTestService, waitFor } from "./helpers/service.js";

/** Running tasks per queue name, and the most ever seen at once. */
const running = new Map<string, number>();
const peak = new Map<string, number>();
const ran = new Map<number, number>();

registerTaskType({
  name: "test.overlap-probe",
  description: "Test only: records how many tasks of its queue run at the same time.",
  params: z.object({ ms: z.number().int().min(0).max(1000) }),
  handler: async (p, ctx) => {
    const q = ctx.task.queue ?? "";
    const now = (running.get(q) ?? 0) + 1;
    running.set(q, now);
    peak.set(q, Math.max(peak.get(q) ?? 0, now));
    ran.set(ctx.task.id, (ran.get(ctx.task.id) ?? 0) + 1);
    try {
      await new Promise((r) => setTimeout(r, p.ms));
    } finally {
      running.set(q, (running.get(q) ?? 1) - 1);
    }
    return null;
  },
});

let tdb: TestDb;
let a: Service;
let b: Service;
const ENV = { WORKER_CONCURRENCY: "10", WORKER_LOCAL_QUEUE_SIZE: "50" };

beforeAll(async () => {
  tdb = await createTestDb();
  [a, b] = await Promise.all([startTestService(tdb.url, ENV), startTestService(tdb.url, ENV)]);
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await tdb?.drop();
});

describe("named queues with the local queue on", () => {
  it("never run two tasks of one queue at once, across two instances, while other work runs in parallel", async () => {
    // Three serial queues of 25 tasks each, interleaved with 75 unqueued tasks, in one batch so
    // every instance's local queue fills with jobs of the same queues at once.
    const tasks = [];
    for (let i = 0; i < 25; i++) {
      for (const q of ["lq-a", "lq-b", "lq-c"]) tasks.push({ type: "test.overlap-probe", queue: q, payload: { ms: 15 } });
      for (let k = 0; k < 3; k++) tasks.push({ type: "test.overlap-probe", payload: { ms: 15 } });
    }
    const r = await api(a.url, "POST", "/api/tasks/batch", { tasks });
    expect(r.status).toBe(200);
    const ids: number[] = r.body.ids;
    expect(ids).toHaveLength(150);
    await waitFor(
      async () => {
        const { rows } = await sql<{ n: number }>`
          select count(*)::int as n from baton.tasks where id = any(${ids}::bigint[]) and status = 'completed'`.execute(a.database.db);
        return rows[0].n === ids.length;
      },
      { timeoutMs: 60_000, what: "all 150 tasks completed" },
    );
    for (const q of ["lq-a", "lq-b", "lq-c"]) expect(peak.get(q), `peak concurrency of queue ${q}`).toBe(1);
    // the unqueued tasks did run side by side: the local queue and the concurrency were in use
    expect(peak.get("") ?? 0).toBeGreaterThan(1);
    // each task ran exactly once, and both instances took part
    expect([...ran.values()].every((n) => n === 1)).toBe(true);
    expect(ran.size).toBe(150);
    const { rows } = await sql<{ lockedBy: string }>`
      select distinct instance_id as locked_by from baton.task_logs
      where task_id = any(${ids}::bigint[]) and event = 'succeeded'`.execute(a.database.db);
    expect(rows.map((x) => x.lockedBy).sort()).toEqual([a.config.INSTANCE_ID, b.config.INSTANCE_ID].sort());
  });
});
