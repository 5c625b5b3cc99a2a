/**
 * SIGTERM on a real process: running tasks finish within SHUTDOWN_TIMEOUT_MS, or go back to
 * pending when it passes; the instance marks itself stopped and exits 0.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { spawnInstance } from "./helpers/process.js";
import { api, waitFor } from "./helpers/service.js";

let tdb: TestDb;
beforeAll(async () => {
  tdb = await createTestDb();
});
afterAll(async () => {
  await tdb?.drop();
});

async function status(id: number) {
  const { rows } = await sql<{ status: string; attempts: number }>`select status, attempts from baton.tasks where id = ${id}`.execute(tdb.database.db);
  return rows[0];
}

it("a task running at SIGTERM finishes, then the process exits 0 and is marked stopped", async () => {
  const inst = await spawnInstance(tdb.url, "term-finish", { SHUTDOWN_TIMEOUT_MS: "20000" });
  const t = await api(inst.url, "POST", "/api/tasks", { type: "simulate", payload: { durationMs: 1500 } });
  await waitFor(async () => (await status(t.body.id)).status === "processing");
  const code = await inst.stop();
  expect(code).toBe(0);
  expect((await status(t.body.id)).status).toBe("completed");
  const { rows } = await sql<{ stoppedAt: Date | null }>`select stopped_at from baton.instances where id = 'term-finish'`.execute(tdb.database.db);
  expect(rows[0].stoppedAt).not.toBeNull();
});

it("a task still running when the shutdown timeout passes goes back to pending; exit 0", async () => {
  const inst = await spawnInstance(tdb.url, "term-return", { SHUTDOWN_TIMEOUT_MS: "500" });
  const t = await api(inst.url, "POST", "/api/tasks", { type: "simulate", payload: { durationMs: 60_000 } });
  await waitFor(async () => (await status(t.body.id)).status === "processing");
  const code = await inst.stop();
  expect(code).toBe(0);
  const after = await status(t.body.id);
  expect(after.status).toBe("pending");
  const { rows } = await sql<{ n: number; locked: number }>`
    select count(*)::int as n, count(*) filter (where locked_at is not null)::int as locked
    from graphile_worker.jobs where key = ${`baton:${t.body.id}`}`.execute(tdb.database.db);
  expect(rows[0]).toEqual({ n: 1, locked: 0 });
  const { rows: l } = await sql<{ event: string }>`select event from baton.task_logs where task_id = ${t.body.id} order by id`.execute(tdb.database.db);
  expect(l.map((r) => r.event)).toEqual(["returned"]);
});
