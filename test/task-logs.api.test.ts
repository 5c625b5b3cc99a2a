/**
 * /api/task-logs: a note is posted in the shape GET returns, and the history filters by task,
 * event, instance and time (DESIGN.md HTTP API). Log rows with chosen instances and times are
 * written in SQL; the instance runs without a worker, so nothing else writes any.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Service } from "../src/service.js";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { api, startTestService } from "./helpers/service.js";

let tdb: TestDb;
let svc: Service;

beforeAll(async () => {
  tdb = await createTestDb();
  svc = await startTestService(tdb.url, { WORKER_ENABLED: "false", SCHEDULER_ENABLED: "false" });
});
afterAll(async () => {
  await svc?.stop();
  await tdb?.drop();
});

const db = () => tdb.database.db;

async function newTask(): Promise<number> {
  const t = await api(svc.url, "POST", "/api/tasks", { type: "noop", hold: true });
  expect(t.status).toBe(201);
  return t.body.id;
}

describe("POST /api/task-logs", () => {
  it('takes the shape GET returns: {taskId, event: "note", message} is a 201 note', async () => {
    const taskId = await newTask();
    const r = await api(svc.url, "POST", "/api/task-logs", { taskId, event: "note", message: "checked by ops" });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ taskId, event: "note", message: "checked by ops", source: "api", attempt: 0 });
    const back = await api(svc.url, "GET", `/api/task-logs/${r.body.id}`);
    expect(back.body).toEqual(r.body);
  });

  it("another event is a 400 naming `event`, and nothing is written", async () => {
    const taskId = await newTask();
    for (const event of ["succeeded", "canceled", "started", "bogus"]) {
      const r = await api(svc.url, "POST", "/api/task-logs", { taskId, event, message: "forged" });
      expect(r.status, event).toBe(400);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
      expect(r.body.errors.map((e: { field: string }) => e.field)).toEqual(["event"]);
    }
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from baton.task_logs where task_id = ${taskId}`.execute(db());
    expect(rows[0].n).toBe(0);
  });
});
