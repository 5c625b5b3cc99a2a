/**
 * Priority with WORKER_CONCURRENCY=1: 50 pending priority-0 tasks, then one priority-9 task. The
 * priority-9 task starts before all of them except the one already running.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Service } from "../src/service.js";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { api, startTestService, waitFor } from "./helpers/service.js";

let tdb: TestDb;
let svc: Service;

beforeAll(async () => {
  tdb = await createTestDb();
  svc = await startTestService(tdb.url, { WORKER_CONCURRENCY: "1", SHUTDOWN_TIMEOUT_MS: "100" });
});
afterAll(async () => {
  await svc?.stop();
  await tdb?.drop();
});

it("a priority-9 task overtakes 50 queued priority-0 tasks", async () => {
  const low = await api(svc.url, "POST", "/api/tasks/batch", {
    tasks: Array.from({ length: 50 }, (_, i) => ({ type: "simulate", title: `low ${i}`, payload: { durationMs: 150 } })),
  });
  expect(low.body.created).toBe(50);
  const high = await api(svc.url, "POST", "/api/tasks", { type: "simulate", title: "high", priority: 9, payload: { durationMs: 10 } });
  expect(high.status).toBe(201);
  await waitFor(async () => (await api(svc.url, "GET", `/api/tasks/${high.body.id}`)).body.status === "completed", { what: "priority-9 task completed" });
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from baton.task_logs l
    where l.event = 'started' and l.task_id = any(${low.body.ids}::bigint[])
      and l.id < (select id from baton.task_logs where task_id = ${high.body.id} and event = 'started')`.execute(tdb.database.db);
  // Only the task that was already running when the priority-9 task arrived may start before it.
  expect(rows[0].n).toBeLessThanOrEqual(1);
});
