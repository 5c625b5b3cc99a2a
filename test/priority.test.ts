/**
 * Priority with batched claiming on, as shipped (DESIGN.md invariant 8): a priority-9 task starts
 * before every lower-priority task that was still unclaimed when it was created. Only tasks already
 * claimed into the instance's local queue (at most WORKER_LOCAL_QUEUE_SIZE) and those running may
 * start ahead of it. Checked at WORKER_CONCURRENCY 1 and 10 with the default local queue size.
 *
 * The handler records the order in which tasks start, so the check does not depend on log rows.
 */
import { sql } from "kysely";
import { z } from "zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Service } from "../src/service.js";
import { registerTaskType } from "../src/worker/registry.js";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { api, startTestService, waitFor } from "./helpers/service.js";

/** Task ids in the order their handlers started. */
const order: number[] = [];

registerTaskType({
  name: "test.start-order",
  description: "Test only: records the order in which handlers start.",
  params: z.object({ ms: z.number().int().min(0).max(1000) }),
  handler: async (p, ctx) => {
    order.push(ctx.task.id);
    await new Promise((r) => setTimeout(r, p.ms));
    return null;
  },
});

describe.each([
  { concurrency: 1, low: 60 },
  { concurrency: 10, low: 400 },
])("WORKER_CONCURRENCY=$concurrency, default local queue", ({ concurrency, low }) => {
  let tdb: TestDb;
  let svc: Service;

  beforeAll(async () => {
    tdb = await createTestDb();
    svc = await startTestService(tdb.url, { WORKER_CONCURRENCY: String(concurrency), SHUTDOWN_TIMEOUT_MS: "100" });
  });
  afterAll(async () => {
    await svc?.stop();
    await tdb?.drop();
  });

  it("a priority-9 task starts before every priority-0 task not yet claimed when it was created", async () => {
    const lqSize = svc.config.WORKER_LOCAL_QUEUE_SIZE;
    // batching is on by default, and the backlog is far larger than what can be claimed ahead
    expect(lqSize).toBeGreaterThan(1);
    expect(low).toBeGreaterThan(4 * (lqSize + concurrency));
    order.length = 0;
    const lows = await api(svc.url, "POST", "/api/tasks/batch", {
      tasks: Array.from({ length: low }, () => ({ type: "test.start-order", payload: { ms: 20 } })),
    });
    expect(lows.body.created).toBe(low);
    const lowIds: number[] = lows.body.ids;
    // let the instance get going, so its local queue is full when the priority-9 task arrives
    await waitFor(() => order.length >= concurrency, { what: "the first low tasks started" });
    const high = await api(svc.url, "POST", "/api/tasks", { type: "test.start-order", priority: 9, payload: { ms: 0 } });
    // at least as many as had started when the create committed (it committed before the answer)
    const startedAtCreate = order.length;
    expect(high.status).toBe(201);
    // Read after the create committed: low tasks still pending without a locked job now. A fetch
    // that was already running when the priority-9 task committed may still lock some of them
    // (its snapshot predates the task); those count as claimed before it, and there is at most
    // one such fetch, of at most one local queue's worth.
    const { rows } = await sql<{ id: number }>`
      select t.id from baton.tasks t
      where t.id = any(${lowIds}::bigint[]) and t.status = 'pending'
        and not exists (select 1 from graphile_worker.jobs j where j.key = 'baton:' || t.id and j.locked_at is not null)`.execute(
      tdb.database.db,
    );
    const unclaimed = new Set(rows.map((r) => r.id));
    expect(unclaimed.size).toBeGreaterThan(low / 2);
    await waitFor(() => order.includes(high.body.id), { what: "the priority-9 task started" });
    const before = order.slice(0, order.indexOf(high.body.id));
    expect(before.filter((id) => unclaimed.has(id)).length).toBeLessThanOrEqual(lqSize);
    // Only what was claimed ahead went first: the tasks whose handlers had started, one local
    // queue's worth, and at most one job held by each worker between its claim and its start.
    expect(before.length).toBeLessThanOrEqual(startedAtCreate + lqSize + concurrency);
  });
});
