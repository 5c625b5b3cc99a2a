/**
 * kill -9 an instance while it runs 5 simulate tasks: the other instance takes them over within
 * the recovery window, each gets a `recovered` row, none completes twice, and no graphile_worker
 * job stays locked by the dead pool. Two real processes on one database.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { type Instance, spawnInstance } from "./helpers/process.js";
import { api, waitFor } from "./helpers/service.js";

let tdb: TestDb;
let a: Instance | undefined;
let b: Instance | undefined;

const ENV = {
  HEARTBEAT_INTERVAL_MS: process.env.KILL_TEST_HEARTBEAT_MS ?? "500",
  INSTANCE_DEAD_AFTER_MS: process.env.KILL_TEST_DEAD_AFTER_MS ?? "4000",
  WORKER_CONCURRENCY: "8",
  SHUTDOWN_TIMEOUT_MS: "3000",
  PRUNE_INTERVAL_MS: "0",
};

beforeAll(async () => {
  tdb = await createTestDb();
  const tag = randomBytes(3).toString("hex");
  [a, b] = await Promise.all([spawnInstance(tdb.url, `kill-a-${tag}`, ENV), spawnInstance(tdb.url, `kill-b-${tag}`, ENV)]);
});
afterAll(async () => {
  if (b?.proc.pid && b.proc.exitCode === null && b.proc.signalCode === null) process.kill(b.proc.pid, "SIGCONT");
  await Promise.all([a?.kill(), b?.kill()]);
  await tdb?.drop();
});

describe("kill -9 mid-task", () => {
  it("hands all five running tasks to the surviving instance, each completed exactly once", async () => {
    const sql = tdb.database.sql;
    const A = a!;
    const B = b!;
    // Hold B still for the moment A claims the work, so every task runs on A.
    process.kill(B.proc.pid!, "SIGSTOP");
    const ids: number[] = [];
    try {
      for (let i = 0; i < 5; i++) {
        const r = await api(A.url, "POST", "/api/tasks", { type: "simulate", title: `kill-${i}`, payload: { durationMs: 3000 } });
        expect(r.status).toBe(201);
        ids.push(r.body.id);
      }
      await waitFor(
        async () => {
          const [r] = await sql<{ n: number }[]>`
            select count(*)::int as n from baton.tasks where id = any(${ids}) and status = 'processing' and locked_by = ${A.id}`;
          return r.n === 5;
        },
        { timeoutMs: 20_000, what: "all five running on A" },
      );
    } finally {
      process.kill(B.proc.pid!, "SIGCONT");
    }
    const [{ worker_pool_id: poolA }] = await sql<{ worker_pool_id: string }[]>`
      select worker_pool_id from baton.instances where id = ${A.id}`;
    expect(poolA).toBeTruthy();

    const killedAt = Date.now();
    await A.kill();

    await waitFor(
      async () => {
        const [r] = await sql<{ n: number }[]>`select count(*)::int as n from baton.tasks where id = any(${ids}) and status = 'completed'`;
        return r.n === 5;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: "all five completed on B" },
    );
    const allDoneMs = Date.now() - killedAt;

    for (const id of ids) {
      const logs = await sql<{ event: string; instance_id: string | null }[]>`
        select event, instance_id from baton.task_logs where task_id = ${id} order by id`;
      expect(logs.map((l) => l.event), `task ${id}`).toEqual(["started", "recovered", "started", "succeeded"]);
      expect(logs.map((l) => l.instance_id)).toEqual([A.id, B.id, B.id, B.id]);
    }
    const [t] = await sql<{ attempts: number[] }[]>`select array_agg(attempts order by id) as attempts from baton.tasks where id = any(${ids})`;
    expect(t.attempts).toEqual([2, 2, 2, 2, 2]);

    const [locked] = await sql<{ n: number }[]>`select count(*)::int as n from graphile_worker.jobs where locked_by = ${poolA}`;
    expect(locked.n).toBe(0);
    const [jobs] = await sql<{ n: number }[]>`select count(*)::int as n from graphile_worker.jobs`;
    expect(jobs.n).toBe(0);

    const [inst] = await sql<{ state: string; recovered_by: string }[]>`
      select state, recovered_by from baton.instance_health where id = ${A.id}`;
    expect(inst).toEqual({ state: "recovered", recovered_by: B.id });

    const [{ ms: recoveryMs }] = await sql<{ ms: number }[]>`
      select extract(epoch from max(l.created_at) - max(s.heartbeat_at))::float8 * 1000 as ms
      from baton.task_logs l, baton.instances s
      where l.task_id = any(${ids}) and l.event = 'recovered' and s.id = ${A.id}`;
    console.log(
      `[recovery.kill] dead after ${ENV.INSTANCE_DEAD_AFTER_MS} ms, heartbeat ${ENV.HEARTBEAT_INTERVAL_MS} ms: recovered ${Math.round(recoveryMs)} ms after A's last heartbeat; all 5 completed ${allDoneMs} ms after kill -9`,
    );

    expect(await B.stop()).toBe(0);
  });
});
