/**
 * Two real baton processes on two ports against one database share 1,000 tasks safely: every task
 * completes with one attempt and exactly one outcome row, both instances run some, none runs on
 * two (a second run would have needed a second start, which bumps attempts).
 */
import { sql } from "kysely";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { type Instance, spawnInstance } from "./helpers/process.js";
import { api, waitFor } from "./helpers/service.js";

let tdb: TestDb;
let a: Instance;
let b: Instance;

beforeAll(async () => {
  tdb = await createTestDb();
  [a, b] = await Promise.all([
    spawnInstance(tdb.url, "multi-a", { WORKER_CONCURRENCY: "8" }),
    spawnInstance(tdb.url, "multi-b", { WORKER_CONCURRENCY: "8" }),
  ]);
});
afterAll(async () => {
  const codes = await Promise.all([a?.stop(), b?.stop()]);
  await tdb?.drop();
  expect(codes).toEqual([0, 0]);
});

it("1,000 simulate tasks created through either port all complete, once each, on both instances", async () => {
  const ids: number[] = [];
  // half as batches through A, half as concurrent single creates through B
  for (let i = 0; i < 5; i++) {
    const r = await api(a.url, "POST", "/api/tasks/batch", {
      tasks: Array.from({ length: 100 }, () => ({ type: "simulate", payload: { minMs: 5, maxMs: 25 } })),
    });
    expect(r.status).toBe(200);
    ids.push(...r.body.ids);
  }
  for (let i = 0; i < 10; i++) {
    const rs = await Promise.all(
      Array.from({ length: 50 }, () => api(b.url, "POST", "/api/tasks", { type: "simulate", payload: { minMs: 5, maxMs: 25 } })),
    );
    for (const r of rs) {
      expect(r.status).toBe(201);
      ids.push(r.body.id);
    }
  }
  expect(new Set(ids).size).toBe(1000);
  const db = tdb.database.db;
  await waitFor(
    async () => {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from baton.tasks where status = 'completed'`.execute(db);
      return rows[0].n === 1000;
    },
    { timeoutMs: 120_000, what: "1000 completed" },
  );
  const { rows: perTask } = await sql<{ attempts: number; logs: number; instances: number; succeeded: number }>`
    select t.attempts, count(l.id)::int as logs,
           count(*) filter (where l.event = 'succeeded' and l.attempt = 1)::int as succeeded,
           count(distinct l.instance_id)::int as instances
    from baton.tasks t left join baton.task_logs l on l.task_id = t.id group by t.id`.execute(db);
  expect(perTask).toHaveLength(1000);
  expect(perTask.filter((r) => r.attempts !== 1 || r.logs !== 1 || r.succeeded !== 1 || r.instances !== 1)).toEqual([]);
  const { rows: byInstance } = await sql<{ instanceId: string; n: number }>`
    select instance_id, count(*)::int as n from baton.task_logs where event = 'succeeded' group by instance_id order by 1`.execute(db);
  expect(byInstance.map((r) => r.instanceId)).toEqual(["multi-a", "multi-b"]);
  expect(byInstance.every((r) => r.n > 0)).toBe(true);
  // status sees both instances
  const s = await api(a.url, "GET", "/api/status");
  expect(s.body.instances.map((i: { id: string }) => i.id).sort()).toEqual(["multi-a", "multi-b"]);
});
