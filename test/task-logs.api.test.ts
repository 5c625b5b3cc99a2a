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

describe("GET /api/task-logs filters", () => {
  let a = 0;
  let b = 0;
  const t0 = Date.parse("2031-03-01T10:00:00Z");
  const at = (minutes: number) => new Date(t0 + minutes * 60_000).toISOString();

  beforeAll(async () => {
    a = await newTask();
    b = await newTask();
    // (task, event, instance, minutes after t0)
    const rows: [number, string, string | null, number][] = [
      [a, "note", "inst-x", 0],
      [a, "note", "inst-y", 10],
      [b, "note", "inst-x", 20],
      [a, "canceled", "inst-x", 30],
      [b, "note", null, 40],
    ];
    for (const [taskId, event, instanceId, minutes] of rows) {
      await sql`insert into baton.task_logs (task_id, attempt, event, instance_id, message, created_at)
                values (${taskId}, 0, ${event}, ${instanceId}, ${`m${minutes}`}, ${at(minutes)})`.execute(db());
    }
  });

  const messages = async (query: string) => {
    const r = await api(svc.url, "GET", `/api/task-logs?${query}`);
    expect(r.status, query).toBe(200);
    expect(r.body.total, query).toBe(r.body.items.length);
    return r.body.items.map((l: { message: string }) => l.message);
  };

  it("by instance", async () => {
    expect(await messages("instanceId=inst-x")).toEqual(["m30", "m20", "m0"]);
    expect(await messages("instanceId=inst-y")).toEqual(["m10"]);
    expect(await messages("instanceId=inst-none")).toEqual([]);
  });

  it("by time: since is inclusive, until exclusive", async () => {
    expect(await messages(`since=${at(10)}&until=${at(30)}`)).toEqual(["m20", "m10"]);
    expect(await messages(`since=${at(30)}`)).toEqual(["m40", "m30"]);
    expect(await messages(`since=${at(-60)}&until=${at(10)}`)).toEqual(["m0"]);
  });

  it("by instance, time, task and event together, also under /api/tasks/{id}/logs", async () => {
    expect(await messages(`instanceId=inst-x&since=${at(5)}&until=${at(60)}`)).toEqual(["m30", "m20"]);
    expect(await messages(`instanceId=inst-x&taskId=${a}`)).toEqual(["m30", "m0"]);
    expect(await messages(`instanceId=inst-x&event=note&until=${at(25)}`)).toEqual(["m20", "m0"]);
    const own = await api(svc.url, "GET", `/api/tasks/${a}/logs?instanceId=inst-x&since=${at(1)}`);
    expect(own.body.items.map((l: { message: string }) => l.message)).toEqual(["m30"]);
  });

  it("a time that is not an ISO instant is a 400 naming the field", async () => {
    const r = await api(svc.url, "GET", "/api/task-logs?since=yesterday");
    expect(r.status).toBe(400);
    expect(r.body.errors.map((e: { field: string }) => e.field)).toEqual(["query.since"]);
  });
});
